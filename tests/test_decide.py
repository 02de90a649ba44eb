"""`trainer decide`: an exported model's advice chosen again on its validation split, the model files untouched."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import (
    REAL_DATA,
    REAL_MILK,
    SHIPPED_MODEL,
    needs_real_data,
    needs_real_milk,
    needs_shipped_model,
    tree_digest,
)
from tests.image_factory import write_ham_layout, write_milk_layout
from trainer import decision as decision_module
from trainer import photo_type_offsets, test_time_augmentation
from trainer.build import BuildPlan, SplitMismatchError, build, split_of
from trainer.calibration import balanced_accuracy
from trainer.cli import main
from trainer.decide import chosen_decision, decide
from trainer.decision import CANCER_CLASSES, advice_tiers, cancer_score, shown_probabilities
from trainer.info import CLASS_CODES
from trainer.metrics import expected_calibration_error
from trainer.photo_type import photo_types
from trainer.predict import ExportedModel
from trainer.recipe import recipe_for, with_overrides
from trainer.test_time_augmentation import VIEWS

pytestmark = pytest.mark.slow

OFFSETS = dict(zip(CLASS_CODES, (0.3, 0.2, -0.4, 0.9, 0.1, -0.8, 1.2)))
MODEL_FILES = ("model.json", "group1-shard1of1.bin")


@pytest.fixture(scope="module")
def two_source_data(tmp_path_factory, ham_layout) -> tuple[Path, ...]:
    return ham_layout, write_milk_layout(tmp_path_factory.mktemp("milk"), lesions_per_diagnosis=4)


@pytest.fixture(scope="module")
def built(tmp_path_factory, two_source_data) -> Path:
    """A compact CNN built on HAM10000 + MILK10k layouts, with advice tiers per photo type (tiny groups allowed)."""
    out = tmp_path_factory.mktemp("models") / "two-source"
    recipe = with_overrides(recipe_for("compact-cnn"), epochs=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(decision_module, "MIN_GROUP_CANCERS", 1)
        build(BuildPlan(data=two_source_data, out=out, recipe=recipe, quantization="float16"))
    return out


@pytest.fixture
def model_folder(built, tmp_path, monkeypatch) -> Path:
    """A copy of the built folder whose calibration facts record class offsets (as a build that kept them)."""
    monkeypatch.setattr(decision_module, "MIN_GROUP_CANCERS", 1)
    folder = tmp_path / "model"
    shutil.copytree(built, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["metrics"]["calibration"] |= {"class_offsets": OFFSETS, "temperature_after_offsets": 1.25}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_the_advice_is_chosen_again_before_the_recorded_offsets(model_folder, two_source_data):
    before = json.loads((model_folder / "manifest.json").read_text())
    files_before = tree_digest(model_folder)
    result = decide(model_folder, two_source_data)
    manifest = json.loads((model_folder / "manifest.json").read_text())
    decision = manifest["decision"]

    rule = decision["referral"]
    assert rule["power"] == pytest.approx(1.25)
    assert rule["class_weights"] == pytest.approx({code: np.exp(-offset) for code, offset in OFFSETS.items()})
    assert result["referral"] and "decision_chosen_at" in manifest
    for kept in ("ood", "photo_type", "image_checks"):
        assert decision[kept] == before["decision"][kept]

    # Each tier flags its target share of the validation cancers on the score the page computes.
    model = ExportedModel(model_folder)
    validation = split_of(manifest, two_source_data)[2].validation
    score = cancer_score(model.predict_arrays(validation.images.astype(np.float32)), decision)
    is_cancer = np.isin(validation.labels, CANCER_CLASSES)
    for tier in advice_tiers(decision)[:-1]:
        flagged = score[is_cancer] >= tier["min_probability"]
        assert flagged.mean() >= tier["target_sensitivity"]
        assert flagged.mean() == pytest.approx(tier["validation"]["sensitivity"])
    assert set(decision["tiers_by_photo_type"]) == {"clinical", "dermoscopic"}

    # The model's own files are the same bytes; the manifest lists what the folder now holds.
    files_after = tree_digest(model_folder)
    assert {name: files_after[name] for name in MODEL_FILES} == {name: files_before[name] for name in MODEL_FILES}
    assert {entry["path"]: entry["sha256"] for entry in manifest["files"]} == {
        name: digest for name, digest in files_after.items() if not name.startswith(("manifest", "model-card"))
    }
    card = json.loads((model_folder / "model-card.json").read_text())
    assert card["manifest_sha256"] == hashlib.sha256((model_folder / "manifest.json").read_bytes()).hexdigest()
    metrics = json.loads((model_folder / "report" / "metrics.json").read_text())
    assert metrics["test_advice"] == result["after"]
    assert metrics["test_advice"]["all"]["images"] == metrics["test"]["n"]


def test_type_offsets_are_chosen_again_and_the_metrics_are_those_of_the_probabilities_shown(
    model_folder, two_source_data, monkeypatch
):
    monkeypatch.setattr(photo_type_offsets, "MIN_TYPE_PHOTOS", 4)
    monkeypatch.setattr(photo_type_offsets, "MIN_CROSS_FITTED_GAIN", -1.0)  # keep them, whatever they gain
    decide(model_folder, two_source_data)
    manifest = json.loads((model_folder / "manifest.json").read_text())
    decision = manifest["decision"]
    assert decision["offsets_by_photo_type"] and set(decision["offsets_by_photo_type"]) <= {"clinical", "dermoscopic"}

    model = ExportedModel(model_folder)
    test = split_of(manifest, two_source_data)[2].test
    outputs = model.predict_outputs(test.images.astype(np.float32))
    shown = shown_probabilities(outputs.probabilities, decision, photo_types(outputs.clinical_probability))
    assert not np.allclose(shown, outputs.probabilities)
    metrics = json.loads((model_folder / "report" / "metrics.json").read_text())
    assert metrics["test"]["balanced_accuracy"] == pytest.approx(balanced_accuracy(test.labels, shown.argmax(axis=1)))
    assert metrics["test"]["ece"] == pytest.approx(expected_calibration_error(test.labels, shown))
    assert metrics["calibration"]["test_ece_after"] == metrics["test"]["ece"]
    assert manifest["metrics"]["test"]["balanced_accuracy"] == metrics["test"]["balanced_accuracy"]
    assert manifest["metrics"]["calibration"] == metrics["calibration"]


def test_views_are_chosen_again_and_the_metrics_and_the_page_view_average_them(
    model_folder, two_source_data, monkeypatch
):
    monkeypatch.setattr(test_time_augmentation, "MIN_TYPE_PHOTOS", 4)
    monkeypatch.setattr(test_time_augmentation, "MIN_VIEW_GAIN", -1.0)  # keep them, whatever they gain
    monkeypatch.setattr(test_time_augmentation, "MAX_AUC_LOSS", 1.0)
    decide(model_folder, two_source_data)
    manifest = json.loads((model_folder / "manifest.json").read_text())
    rule = manifest["decision"]["test_time_augmentation"]
    assert (
        rule["views"] == list(VIEWS) and rule["photo_types"] and set(rule["photo_types"]) <= {"clinical", "dermoscopic"}
    )

    model = ExportedModel(model_folder)
    test = split_of(manifest, two_source_data)[2].test
    inputs = test.images.astype(np.float32)
    outputs = model.predict_outputs(inputs)
    mirrored = model.predict_arrays(inputs[:, :, ::-1])
    kinds = photo_types(outputs.clinical_probability)
    averaged = np.isin(kinds, list(rule["photo_types"]))
    one_view = shown_probabilities(
        outputs.probabilities, manifest["decision"] | {"test_time_augmentation": None}, kinds
    )
    each_view = [
        one_view,
        shown_probabilities(mirrored, manifest["decision"] | {"test_time_augmentation": None}, kinds),
    ]
    expected = np.where(averaged[:, None], np.mean(each_view, axis=0), one_view)
    shown = model.page_view(inputs).shown
    assert averaged.any() and shown == pytest.approx(expected, abs=1e-6)
    # The tiny model is nearly flip-invariant (its views differ by ~1e-7): the averaged rows differ from the
    # photo's own bitwise, the others are bitwise its own.
    assert not np.array_equal(shown[averaged], one_view[averaged])
    assert np.array_equal(shown[~averaged], one_view[~averaged])
    metrics = json.loads((model_folder / "report" / "metrics.json").read_text())
    assert metrics["test"]["balanced_accuracy"] == pytest.approx(balanced_accuracy(test.labels, shown.argmax(axis=1)))
    assert metrics["test"]["ece"] == pytest.approx(expected_calibration_error(test.labels, shown))
    assert "Test-time augmentation for" in (model_folder / "model-card.md").read_text()


def test_without_offsets_the_advice_scores_the_probabilities_themselves(model_folder, two_source_data):
    manifest = json.loads((model_folder / "manifest.json").read_text())
    manifest["metrics"]["calibration"]["class_offsets"] = dict.fromkeys(CLASS_CODES, 0.0)
    (model_folder / "manifest.json").write_text(json.dumps(manifest))
    assert not decide(model_folder, two_source_data)["referral"]
    assert "referral" not in json.loads((model_folder / "manifest.json").read_text())["decision"]


def test_other_data_folders_are_refused_and_the_folder_is_left_as_it_was(model_folder, tmp_path, capsys):
    other = write_ham_layout(tmp_path / "other", per_class=5)
    files_before = tree_digest(model_folder)
    with pytest.raises(SplitMismatchError, match="other split counts"):
        decide(model_folder, (other,))
    assert main(["decide", "--model", str(model_folder), "--data", str(other)]) == 2
    assert "pass the build's own --data folders" in capsys.readouterr().err
    assert tree_digest(model_folder) == files_before


def _tiers(decision: dict) -> dict[tuple[str, str], tuple[float, float, float]]:
    """(photo type or "all", tier) -> threshold, validation sensitivity and specificity."""
    tiers = [("all", tier) for tier in decision["tiers"]] + [
        (kind, tier) for kind, kind_tiers in decision.get("tiers_by_photo_type", {}).items() for tier in kind_tiers
    ]
    return {
        (kind, tier["name"]): (
            tier["min_probability"],
            tier["validation"]["sensitivity"],
            tier["validation"]["specificity"],
        )
        for kind, tier in tiers
        if "validation" in tier
    }


@needs_real_data
@needs_real_milk
@needs_shipped_model
def test_the_shipped_advice_is_what_decide_chooses_from_the_shipped_files():
    model = ExportedModel(SHIPPED_MODEL)
    parts = split_of(model.manifest, (REAL_DATA, REAL_MILK))[2]
    chosen, shipped = chosen_decision(model, parts), model.manifest["decision"]
    assert chosen.keys() == shipped.keys() and chosen["referral"] == shipped["referral"]
    assert chosen["uncertain_below"] == shipped["uncertain_below"]
    own, shipped_own = chosen.get("offsets_by_photo_type", {}), shipped.get("offsets_by_photo_type", {})
    assert own.keys() == shipped_own.keys()
    for kind, rule in own.items():
        assert rule["class_offsets"] == pytest.approx(shipped_own[kind]["class_offsets"], abs=1e-4), kind
        assert rule["temperature"] == pytest.approx(shipped_own[kind]["temperature"], rel=1e-4), kind
    views, shipped_views = chosen.get("test_time_augmentation") or {}, shipped.get("test_time_augmentation") or {}
    assert views.get("views") == shipped_views.get("views")
    assert (views.get("photo_types") or {}).keys() == (shipped_views.get("photo_types") or {}).keys()
    expected = _tiers(shipped)
    assert set(_tiers(chosen)) == set(expected) and len(expected) == 6
    for key, (threshold, sensitivity, specificity) in _tiers(chosen).items():
        assert threshold == pytest.approx(expected[key][0], rel=1e-4), key
        assert (sensitivity, specificity) == pytest.approx(expected[key][1:], abs=2e-3), key
