"""The build pipeline on several sources: per-image-type metrics, a held-out source, the decision offsets."""

from __future__ import annotations

import json

import pytest

from tests.image_factory import write_milk_layout
from trainer import metrics as metrics_module
from trainer.build import BuildPlan, build, split_of
from trainer.recipe import recipe_for, with_overrides

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def milk_layout(tmp_path_factory):
    return write_milk_layout(tmp_path_factory.mktemp("milk"), lesions_per_diagnosis=4)


def _plan(out, *data, **fields) -> BuildPlan:
    recipe = with_overrides(recipe_for("compact-cnn"), epochs=1)
    return BuildPlan(data=tuple(data), out=out, recipe=recipe, quantization="float16", **fields)


def test_two_sources_are_reported_per_image_type(ham_layout, milk_layout, tmp_path, monkeypatch):
    monkeypatch.setattr(metrics_module, "MIN_GROUP_IMAGES", 1)
    metrics = build(_plan(tmp_path / "model", ham_layout, milk_layout))
    groups = metrics["test_groups"]["image_type"]
    assert set(groups) == {"ham10000 dermoscopic", "milk10k clinical", "milk10k dermoscopic"}
    assert sum(g["n"] for g in groups.values()) == metrics["test"]["n"]
    assert set(metrics["test_groups"]["skin_tone"]) <= {"2", "3", "4"}
    types = metrics["split"]["images_by_type"]["train"]
    assert types["milk10k clinical"] == types["milk10k dermoscopic"]  # both photos of a lesion stay together
    manifest = json.loads((tmp_path / "model" / "manifest.json").read_text())
    assert set(manifest["metrics"]["test_by_image_type"]) == set(groups)
    offsets = metrics["calibration"]["class_offsets"]
    assert len(offsets) == 7 and "class_offsets_cross_fitted_gain" in metrics["calibration"]
    assert "By image type" in (tmp_path / "model" / "report" / "report.html").read_text()

    # Both photo types in training: the model also says which kind of photo it got (its third output).
    from trainer.predict import ExportedModel

    rule = manifest["decision"]["photo_type"]
    validation_size = sum(metrics["split"]["counts"]["validation"].values())
    assert rule["output"] == "photo_type" and rule["validation"]["images"] == validation_size
    milk_photos = sorted((milk_layout / "images").glob("*.jpg"))[:6]
    said = ExportedModel(tmp_path / "model").assess_files(milk_photos)
    assert {entry["photo_type"] for entry in said.values()} <= {"clinical", "dermoscopic"}
    advice = metrics["test_advice"]
    assert set(advice) == {"all"} | set(groups) and advice["all"]["images"] == metrics["test"]["n"]


def test_one_photo_type_gives_no_photo_type_output(ham_layout, tmp_path):
    build(_plan(tmp_path / "model", ham_layout))
    manifest = json.loads((tmp_path / "model" / "manifest.json").read_text())
    assert "photo_type" not in manifest["decision"] and "tiers_by_photo_type" not in manifest["decision"]
    assert "probability of a clinical close-up" not in manifest["model"]["output"]


def test_a_held_out_source_is_never_trained_on_and_reported_apart(ham_layout, milk_layout, tmp_path):
    metrics = build(_plan(tmp_path / "model", ham_layout, milk_layout, holdout_source="milk10k"))
    assert metrics["cross_source"]["source"] == "milk10k"
    assert metrics["cross_source"]["n"] == sum(metrics["split"]["counts"]["cross_source"].values())
    trained_on = {k for part in ("train", "validation", "test") for k in metrics["split"]["images_by_type"][part]}
    assert trained_on == {"ham10000 dermoscopic"}
    manifest = json.loads((tmp_path / "model" / "manifest.json").read_text())
    parts = split_of(manifest, (ham_layout, milk_layout))[2]  # as trainer decide and the benchmarks rebuild it
    assert parts.cross_source is not None and len(parts.cross_source.labels) == metrics["cross_source"]["n"]


def test_an_unknown_held_out_source_is_refused_with_the_known_ones(ham_layout, milk_layout, tmp_path):
    with pytest.raises(ValueError, match="milk10k"):
        build(_plan(tmp_path / "model", ham_layout, milk_layout, holdout_source="elsewhere"))


def test_reused_weights_bring_their_training_facts_and_refuse_another_recipe(ham_layout, tmp_path):
    from dataclasses import replace

    first = build(_plan(tmp_path / "first", ham_layout))
    weights = tmp_path / ".first.logs" / "trained_weights.h5"
    again = build(_plan(tmp_path / "again", ham_layout, weights=weights))
    assert again["training"]["reused_weights"] == str(weights)
    for key in ("epochs_run", "best_epoch", "seconds", "best_val_balanced_accuracy_before_calibration"):
        assert again["training"][key] == first["training"][key]
    assert again["history"] == first["history"]
    other = replace(_plan(tmp_path / "other", ham_layout, weights=weights), recipe=recipe_for("compact-cnn"))
    with pytest.raises(ValueError, match="another recipe"):
        build(other)
    assert not (tmp_path / "other").exists()
