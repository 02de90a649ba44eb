"""Test-time augmentation by photo type: for the photo types where it helped on validation, the page shows the mean
of the probabilities of the photo and of its mirror image.

A dermatoscope looks straight down at the skin, so a lesion and its mirror image are the same lesion, and the
mean over both views evens out some of the network's noise. Clinical close-ups lost by it (docs/model-levers.md,
rows 23 and 40), so the views are kept per photo type the model routes photos to (``trainer.photo_type``): where,
on that type's validation photos (at least ``MIN_TYPE_PHOTOS``), the mean raises balanced accuracy by
``MIN_VIEW_GAIN`` and keeps macro AUC. Nothing is fitted, so no cross-fitting is needed.

``VIEWS``: the photo and its mirror image, two model runs per photo, which keep the page's inference inside its
25 ms wasm budget; the four flips measured too take about 3.5 times one run (docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from trainer.decision import shown_probabilities
from trainer.info import NUM_CLASSES
from trainer.metrics import classification_metrics, masks_by_value
from trainer.photo_type_offsets import MIN_TYPE_PHOTOS

# Each view: the axes of a (N, height, width, 3) batch it reverses; the first view is the photo itself.
VIEWS: tuple[dict, ...] = (
    {"name": "the photo", "flip_axes": []},
    {"name": "its mirror image (left to right)", "flip_axes": [2]},
)
MIN_VIEW_GAIN = 0.01
MAX_AUC_LOSS = 0.0


def view_inputs(inputs: np.ndarray, views: Sequence[dict]) -> list[np.ndarray]:
    """``inputs`` (N, height, width, 3) as each of ``views`` sees them."""
    return [np.flip(inputs, axis=tuple(view["flip_axes"])) if view["flip_axes"] else inputs for view in views]


def decision_views(decision: dict) -> list[dict]:
    """The views after the first that the decision's ``test_time_augmentation`` averages (none without it)."""
    rule = decision.get("test_time_augmentation")
    return list(rule["views"][1:]) if rule else []


def other_view_probabilities(
    predict: Callable[[np.ndarray], np.ndarray],
    inputs: np.ndarray,
    views: Sequence[dict],
    only: np.ndarray | None = None,
) -> list[np.ndarray]:
    """The model's probabilities (``predict``: inputs to (N, 7)) for each of ``views`` of ``inputs``; with ``only``
    (a mask of the photos), the model runs on those photos' views alone and the other rows are NaN."""
    if only is None:
        return [predict(view) for view in view_inputs(inputs, views)]
    results = []
    for view in view_inputs(inputs[only], views):
        probabilities = np.full((len(inputs), NUM_CLASSES), np.nan)
        if len(view):
            probabilities[only] = predict(view)
        results.append(probabilities)
    return results


def views_by_photo_type(
    labels: np.ndarray,
    probabilities: np.ndarray,
    other_views: Sequence[np.ndarray],
    decision: dict,
    routed: np.ndarray,
) -> dict | None:
    """The decision's ``test_time_augmentation`` entry: ``VIEWS`` and the photo types whose validation photos gain
    by their mean (see the module docstring), with the figures that kept them; None when no type gains.
    ``probabilities``: the model's for the validation photos themselves; ``other_views``: for each of ``VIEWS``
    after the first; ``decision``: the rules chosen so far (the shown probabilities start from them)."""
    kinds = sorted(set(np.asarray(routed).tolist()))
    trial = decision | {"test_time_augmentation": {"views": list(VIEWS), "photo_types": dict.fromkeys(kinds)}}
    one = shown_probabilities(probabilities, decision, routed)
    averaged = shown_probabilities(probabilities, trial, routed, other_views)
    kept = {}
    for kind, mine in masks_by_value(routed).items():
        if mine.sum() < MIN_TYPE_PHOTOS:
            continue
        before, after = (classification_metrics(labels[mine], p[mine]) for p in (one, averaged))
        gain = after["balanced_accuracy"] - before["balanced_accuracy"]
        if gain >= MIN_VIEW_GAIN and (after["macro_auc"] or 0.0) >= (before["macro_auc"] or 0.0) - MAX_AUC_LOSS:
            kept[kind] = {
                "validation_photos": int(mine.sum()),
                "validation_balanced_accuracy": {
                    "one view": before["balanced_accuracy"],
                    "views": after["balanced_accuracy"],
                },
                "validation_macro_auc": {"one view": before["macro_auc"], "views": after["macro_auc"]},
            }
    if not kept:
        return None
    return {
        "views": list(VIEWS),
        "photo_types": kept,
        "rule": "for photos the model routes to one of photo_types: the probabilities shown are the mean of those "
        "shown for each view (each view's input: the photo with the flip_axes of its (1, height, width, 3) batch "
        "reversed); the photo type, the photo checks, the out-of-distribution score and the advice are those of "
        f"the photo itself. Kept for a type whose validation photos gained at least {MIN_VIEW_GAIN} balanced "
        "accuracy by the mean, with no loss of macro AUC",
    }
