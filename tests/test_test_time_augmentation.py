"""Test-time augmentation by photo type: the views are the photo and its mirror image, kept for a routed type whose
validation photos gain by their mean, and the probabilities shown for that type are the mean over the views."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.test_decision import softmax
from tests.test_photo_type_offsets import OFFSETS_BY_CODE
from trainer.calibration import balanced_accuracy
from trainer.decision import averaged_photos, shown_probabilities
from trainer.info import NUM_CLASSES
from trainer.test_time_augmentation import (
    MIN_VIEW_GAIN,
    VIEWS,
    decision_views,
    other_view_probabilities,
    view_inputs,
    views_by_photo_type,
)


def two_view_validation(count: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Labels, the model's probabilities for the photos and for their mirror images, and routed types: on
    "dermoscopic" photos each view adds noise of its own to the same evidence (their mean has less), on "clinical"
    ones the mirror image leans towards one class (their mean loses)."""
    rng = np.random.default_rng(seed)
    kinds = np.repeat(["dermoscopic", "clinical"], count)
    labels = rng.integers(0, NUM_CLASSES, 2 * count)
    evidence = rng.normal(0, 0.5, (2 * count, NUM_CLASSES))
    evidence[np.arange(2 * count), labels] += 1.2
    photo, mirrored = (evidence + rng.normal(0, 1.2, evidence.shape) for _ in range(2))
    mirrored[kinds == "clinical", 0] += 4.0
    return labels, softmax(photo), softmax(mirrored), kinds


def test_the_views_are_the_photo_and_its_mirror_image_left_to_right():
    inputs = np.random.default_rng(0).uniform(0, 255, (3, 75, 100, 3)).astype(np.float32)
    photo, mirrored = view_inputs(inputs, VIEWS)
    assert photo is inputs and np.array_equal(mirrored, inputs[:, :, ::-1])
    assert decision_views({}) == [] and decision_views({"test_time_augmentation": {"views": list(VIEWS)}}) == [VIEWS[1]]
    seen = other_view_probabilities(lambda batch: batch[:, 0, :NUM_CLASSES, 0], inputs, VIEWS[1:])
    assert len(seen) == 1 and np.array_equal(seen[0], inputs[:, 0, -1 : -NUM_CLASSES - 1 : -1, 0])


def test_other_views_are_run_only_for_the_photos_that_average_them():
    _, photo, mirrored, kinds = two_view_validation(count=30)
    decision = {"test_time_augmentation": {"views": list(VIEWS), "photo_types": {"dermoscopic": {}}}}
    averaged = averaged_photos(decision, kinds)
    assert np.array_equal(averaged, kinds == "dermoscopic")
    inputs = np.arange(len(photo), dtype=np.float32)[:, None, None, None] * np.ones((1, 2, 3, 3), np.float32)
    batches = []

    def predict(batch: np.ndarray) -> np.ndarray:
        batches.append(len(batch))
        return mirrored[batch[:, 0, 0, 0].astype(int)]

    seen = other_view_probabilities(predict, inputs, VIEWS[1:], averaged)
    assert batches == [averaged.sum()]
    assert np.array_equal(seen[0][averaged], mirrored[averaged]) and np.isnan(seen[0][~averaged]).all()
    assert np.array_equal(
        shown_probabilities(photo, decision, kinds, seen), shown_probabilities(photo, decision, kinds, [mirrored])
    )
    assert other_view_probabilities(predict, inputs, VIEWS[1:], np.zeros(len(photo), bool))[0].shape == photo.shape
    assert batches == [averaged.sum()]  # no photo of a kept type: the model is not run
    assert not averaged_photos({}, kinds).any() and len(averaged_photos(decision, None)) == 0


def test_a_type_that_gains_by_the_mean_of_its_views_keeps_them_and_the_other_type_does_not():
    labels, photo, mirrored, kinds = two_view_validation()
    rule = views_by_photo_type(labels, photo, [mirrored], {}, kinds)
    json.dumps(rule, allow_nan=False)
    assert rule["views"] == list(VIEWS) and set(rule["photo_types"]) == {"dermoscopic"}
    kept = rule["photo_types"]["dermoscopic"]
    scores, aucs = kept["validation_balanced_accuracy"], kept["validation_macro_auc"]
    assert kept["validation_photos"] == (kinds == "dermoscopic").sum()
    assert scores["views"] >= scores["one view"] + MIN_VIEW_GAIN and aucs["views"] >= aucs["one view"]

    # On fresh photos: the dermoscopic ones show the mean of both views and gain; the clinical ones their own.
    labels, photo, mirrored, kinds = two_view_validation(seed=1)
    shown = shown_probabilities(photo, {"test_time_augmentation": rule}, kinds, [mirrored])
    dermoscopic = kinds == "dermoscopic"
    assert shown[dermoscopic] == pytest.approx((photo[dermoscopic] + mirrored[dermoscopic]) / 2)
    assert np.array_equal(shown[~dermoscopic], photo[~dermoscopic])
    before = balanced_accuracy(labels[dermoscopic], photo[dermoscopic].argmax(axis=1))
    assert balanced_accuracy(labels[dermoscopic], shown[dermoscopic].argmax(axis=1)) > before + MIN_VIEW_GAIN


def test_types_with_few_validation_photos_or_without_gain_keep_one_view():
    labels, photo, mirrored, kinds = two_view_validation(count=60)
    assert views_by_photo_type(labels, photo, [mirrored], {}, kinds) is None  # fewer than MIN_TYPE_PHOTOS
    labels, photo, _, kinds = two_view_validation()
    assert views_by_photo_type(labels, photo, [photo], {}, kinds) is None  # the same view twice gains nothing


def test_a_type_with_offsets_of_its_own_averages_the_shown_probabilities_of_each_view():
    _, photo, mirrored, kinds = two_view_validation(count=30)
    own = {"clinical": {"class_offsets": OFFSETS_BY_CODE, "temperature": 0.8}}
    rule = {"views": list(VIEWS), "photo_types": {"clinical": {}}}
    decision = {"offsets_by_photo_type": own, "test_time_augmentation": rule}
    shown = shown_probabilities(photo, decision, kinds, [mirrored])
    alone = {"offsets_by_photo_type": own}
    each_view = [shown_probabilities(view, alone, kinds) for view in (photo, mirrored)]
    clinical = kinds == "clinical"
    assert shown[clinical] == pytest.approx(np.mean(each_view, axis=0)[clinical])
    assert np.array_equal(shown[~clinical], photo[~clinical])
    assert not np.allclose(shown[clinical], each_view[0][clinical])


def test_a_decision_with_views_refuses_to_show_probabilities_without_them():
    _, photo, _, kinds = two_view_validation(count=5)
    decision = {"test_time_augmentation": {"views": list(VIEWS), "photo_types": {"dermoscopic": {}}}}
    with pytest.raises(ValueError, match="averages 2 views of \\['dermoscopic'\\] photos"):
        shown_probabilities(photo, decision, kinds)
    assert np.array_equal(shown_probabilities(photo, decision, ["clinical"] * len(photo)), photo)
