"""Class offsets of a photo type's own: fitted on the validation photos routed to it, kept by a cross-fitted
rule, applied to the probabilities before the shared offsets, and never to the advice."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.test_decision import OFFSETS, REFERRAL, UNSURE_BELOW_0_6, softmax, synthetic_validation
from trainer import photo_type_offsets
from trainer.calibration import MIN_CROSS_FITTED_GAIN, balanced_accuracy
from trainer.decision import referral_probabilities, shown_probabilities, tiers_for
from trainer.info import CLASS_CODES, CODE_TO_INDEX, NUM_CLASSES
from trainer.photo_type_offsets import offsets_by_photo_type, prior_offsets

OFFSETS_BY_CODE = dict(zip(CLASS_CODES, (-0.4, -0.9, -0.1, 1.0, 0.0, -0.4, 0.8)))
CLINICAL_MIX = np.array([0.15, 0.5, 0.1, 0.02, 0.08, 0.13, 0.02])  # bcc-heavy, as MILK10k close-ups


def routed_validation(count: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels, model probabilities and routed types: "dermoscopic" photos with a uniform class mix and a model
    without a prior, "clinical" ones with a bcc-heavy mix and a model that leans on that mix, as a model that
    knows the photo type does."""
    rng = np.random.default_rng(seed)
    kinds = np.repeat(["dermoscopic", "clinical"], count)
    labels = np.concatenate([rng.integers(0, NUM_CLASSES, count), rng.choice(NUM_CLASSES, count, p=CLINICAL_MIX)])
    logits = rng.normal(0, 1.0, (2 * count, NUM_CLASSES))
    logits[np.arange(2 * count), labels] += 1.6
    logits[kinds == "clinical"] += 1.5 * np.log(CLINICAL_MIX)
    return labels, softmax(logits), kinds


def test_prior_offsets_lean_towards_the_rarer_classes_by_one_strength():
    labels = np.repeat(np.arange(NUM_CLASSES - 1), [50, 200, 30, 5, 40, 300])  # no vasc at all
    assert prior_offsets(labels, 0.0) == pytest.approx(np.zeros(NUM_CLASSES))
    one, two = prior_offsets(labels, 1.0), prior_offsets(labels, 2.0)
    assert one.sum() == pytest.approx(0.0, abs=1e-12) and two == pytest.approx(2 * one)
    assert np.isfinite(one).all() and one.argmax() == CODE_TO_INDEX["vasc"] and one.argmin() == CODE_TO_INDEX["nv"]
    assert one[CODE_TO_INDEX["df"]] - one[CODE_TO_INDEX["bcc"]] == pytest.approx(np.log(200.5 / 5.5))


def test_a_type_whose_class_mix_the_model_leans_on_gets_offsets_of_its_own_and_the_other_none():
    labels, probabilities, kinds = routed_validation()
    lesions = [f"lesion-{i // 2}" for i in range(len(labels))]  # two photos per lesion
    own = offsets_by_photo_type(labels, probabilities, None, kinds, lesions)
    json.dumps(own, allow_nan=False)
    assert set(own) == {"clinical"}
    rule = own["clinical"]
    assert (
        rule["cross_fitted_gain"] >= MIN_CROSS_FITTED_GAIN and rule["validation_photos"] == (kinds == "clinical").sum()
    )
    assert rule["prior_strength"] > 0 and rule["temperature"] > 0 and tuple(rule["class_offsets"]) == tuple(CLASS_CODES)
    scores = rule["validation_balanced_accuracy"]
    assert scores["own_offsets"] > scores["shared_offsets"] + 0.05

    # On fresh photos of the same kinds: balanced accuracy rises on the clinical ones, the others are untouched.
    labels, probabilities, kinds = routed_validation(seed=1)
    shown = shown_probabilities(probabilities, {"offsets_by_photo_type": own}, kinds)
    clinical = kinds == "clinical"
    assert np.array_equal(shown[~clinical], probabilities[~clinical])
    assert shown.sum(axis=1) == pytest.approx(np.ones(len(shown)))
    before = balanced_accuracy(labels[clinical], probabilities[clinical].argmax(axis=1))
    assert balanced_accuracy(labels[clinical], shown[clinical].argmax(axis=1)) > before + 0.05


def test_a_type_with_few_validation_photos_or_no_gain_keeps_the_shared_offsets(monkeypatch):
    labels, probabilities, kinds = routed_validation(count=60)
    assert offsets_by_photo_type(labels, probabilities, None, kinds, None) is None  # fewer than MIN_TYPE_PHOTOS
    monkeypatch.setattr(photo_type_offsets, "MIN_TYPE_PHOTOS", 50)
    assert set(offsets_by_photo_type(labels, probabilities, None, kinds, None)) == {"clinical"}
    monkeypatch.setattr(photo_type_offsets, "MIN_CROSS_FITTED_GAIN", 1.0)
    assert offsets_by_photo_type(labels, probabilities, None, kinds, None) is None


def test_the_type_offsets_start_from_the_probabilities_before_the_shared_offsets():
    _, before = synthetic_validation(count=20)
    exported = softmax((np.log(before.astype(np.float64)) + OFFSETS) / 1.16)
    neutral = {"class_offsets": dict.fromkeys(CLASS_CODES, 0.0), "temperature": 1.0}
    decision = {"referral": REFERRAL, "offsets_by_photo_type": {"clinical": neutral}}
    kinds = np.array(["clinical", "dermoscopic"] * 10)
    shown = shown_probabilities(exported, decision, kinds)
    assert shown[kinds == "clinical"] == pytest.approx(before[kinds == "clinical"], abs=1e-6)
    assert np.array_equal(shown[kinds == "dermoscopic"], exported[kinds == "dermoscopic"])
    assert np.array_equal(shown_probabilities(exported, decision, None), exported)

    decision["offsets_by_photo_type"]["clinical"] = {"class_offsets": OFFSETS_BY_CODE, "temperature": 0.8}
    expected = softmax((np.log(referral_probabilities(exported, decision)) + list(OFFSETS_BY_CODE.values())) / 0.8)
    assert shown_probabilities(exported, decision, kinds)[0] == pytest.approx(expected[0], abs=1e-9)


def test_the_advice_is_the_same_with_and_without_the_type_offsets():
    labels, probabilities, kinds = routed_validation(count=150)
    decision = UNSURE_BELOW_0_6
    with_own = decision | {
        "offsets_by_photo_type": {"clinical": {"class_offsets": OFFSETS_BY_CODE, "temperature": 0.7}}
    }
    judged = np.ones(len(labels), dtype=bool)
    tiers = tiers_for(probabilities, decision, judged, kinds)
    assert np.array_equal(tiers_for(probabilities, with_own, judged, kinds), tiers)
    assert {"urgent", "check", "routine"} <= set(tiers)
    shown = shown_probabilities(probabilities, with_own, kinds)
    assert (shown.argmax(axis=1) != probabilities.argmax(axis=1))[kinds == "clinical"].any()
