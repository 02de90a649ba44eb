"""The build pipeline on several sources: per-image-type metrics, a held-out source, the decision offsets."""

from __future__ import annotations

import json

import pytest

from tests.image_factory import write_milk_layout
from trainer import metrics as metrics_module
from trainer.build import BuildPlan, build
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


def test_a_held_out_source_is_never_trained_on_and_reported_apart(ham_layout, milk_layout, tmp_path):
    metrics = build(_plan(tmp_path / "model", ham_layout, milk_layout, holdout_source="milk10k"))
    assert metrics["cross_source"]["source"] == "milk10k"
    assert metrics["cross_source"]["n"] == sum(metrics["split"]["counts"]["cross_source"].values())
    trained_on = {k for part in ("train", "validation", "test") for k in metrics["split"]["images_by_type"][part]}
    assert trained_on == {"ham10000 dermoscopic"}


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
