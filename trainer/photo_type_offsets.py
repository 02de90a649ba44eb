"""Class offsets of its own for the photos the model routes to one photo type, chosen on validation.

The shared class offsets (``trainer.calibration``) are fitted on all validation photos, most of them HAM10000
dermoscopic images with their nevus-heavy class mix. A model that tells photo types apart (``trainer.photo_type``)
has also learnt that clinical close-ups come with another mix (mostly basal cell carcinomas), and it leans that
way on them. For a routed type with enough validation photos, the offsets of logit adjustment (Menon et al.
2021) are fitted on that type's own photos: minus a strength times the log of each class's share among them
(one parameter, chosen for balanced accuracy), applied to the model's calibrated probabilities before the shared
offsets (``decision.referral``), then a temperature of its own (fitted for likelihood). They are kept only
where, fitted on half of the type's validation lesions, they raise balanced accuracy on the other half over the
shared offsets by ``MIN_CROSS_FITTED_GAIN`` (averaged over ``OFFSET_GAIN_HALVINGS`` halvings).

They change the probabilities the page shows and names a lesion type by (``trainer.decision.shown_probabilities``),
never the advice, which scores the probabilities before any class offsets.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trainer.calibration import (
    MIN_CROSS_FITTED_GAIN,
    OFFSET_GAIN_HALVINGS,
    balanced_accuracy,
    fit_temperature,
    lesion_halvings,
)
from trainer.decision import adjusted_probabilities, referral_probabilities
from trainer.info import CLASS_CODES, NUM_CLASSES
from trainer.metrics import masks_by_value

PRIOR_STRENGTHS = np.round(np.arange(0.0, 2.01, 0.1), 2)
MIN_TYPE_PHOTOS = 100  # a routed type with fewer validation photos keeps the shared offsets
ADDED_COUNT = 0.5  # added to each class's count before its share is taken, so an absent class gets a finite offset


def prior_offsets(labels: np.ndarray, strength: float) -> np.ndarray:
    """Minus ``strength`` times the log of each class's (smoothed) share of ``labels``, centred on zero."""
    counts = np.bincount(labels, minlength=NUM_CLASSES) + ADDED_COUNT
    offsets = -strength * np.log(counts / counts.sum())
    return offsets - offsets.mean()


def fit_prior_offsets(log_probabilities: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, float, float]:
    """The prior offsets whose strength maximises balanced accuracy of the argmax (the weakest such), that
    strength, and the temperature then fitted on the offset log-probabilities."""
    predictions = [(log_probabilities + prior_offsets(labels, s)).argmax(axis=1) for s in PRIOR_STRENGTHS]
    scores = [balanced_accuracy(labels, predicted) for predicted in predictions]
    strength = float(PRIOR_STRENGTHS[int(np.argmax(scores))])
    offsets = prior_offsets(labels, strength)
    return offsets, strength, fit_temperature(log_probabilities + offsets, labels)


def cross_fitted_gain(
    log_probabilities: np.ndarray,
    shared_predictions: np.ndarray,
    labels: np.ndarray,
    groups: Sequence[str] | None,
    halvings: int = OFFSET_GAIN_HALVINGS,
) -> float:
    """Balanced-accuracy gain of prior offsets fitted on one half of the lesions and applied to the other (both
    ways), over the shared offsets' predictions there; the mean over ``halvings`` halvings stratified by class."""
    gains = []
    for fit_idx, held_idx in lesion_halvings(labels, groups, halvings):
        offsets, _, _ = fit_prior_offsets(log_probabilities[fit_idx], labels[fit_idx])
        truth = labels[held_idx]
        own = (log_probabilities[held_idx] + offsets).argmax(axis=1)
        gains.append(balanced_accuracy(truth, own) - balanced_accuracy(truth, shared_predictions[held_idx]))
    return float(np.mean(gains))


def offsets_by_photo_type(
    labels: np.ndarray,
    probabilities: np.ndarray,
    referral: dict | None,
    routed: np.ndarray,
    groups: Sequence[str] | None,
) -> dict[str, dict] | None:
    """The decision's ``offsets_by_photo_type`` entry: for each photo type the model routes at least
    ``MIN_TYPE_PHOTOS`` validation photos to, prior offsets and a temperature fitted on those photos, where they
    pass the cross-fitted rule; None when no type keeps them. ``probabilities``: the model's (after the shared
    offsets, which ``referral`` undoes); ``groups``: lesion ids (None: every photo its own)."""
    lesions = None if groups is None else np.asarray(groups)
    log_before = np.log(np.clip(referral_probabilities(probabilities, {"referral": referral}), 1e-12, 1.0))
    kept = {}
    for kind, mine in masks_by_value(routed).items():
        if mine.sum() < MIN_TYPE_PHOTOS:
            continue
        shared = probabilities[mine].argmax(axis=1)
        gain = cross_fitted_gain(log_before[mine], shared, labels[mine], None if lesions is None else lesions[mine])
        if gain < MIN_CROSS_FITTED_GAIN:
            continue
        offsets, strength, temperature = fit_prior_offsets(log_before[mine], labels[mine])
        kept[kind] = {
            "class_offsets": dict(zip(CLASS_CODES, offsets.round(4).tolist())),
            "temperature": temperature,
            "prior_strength": strength,
            "cross_fitted_gain": gain,
            "validation_photos": int(mine.sum()),
            "validation_balanced_accuracy": {
                "shared_offsets": balanced_accuracy(labels[mine], shared),
                "own_offsets": balanced_accuracy(
                    labels[mine], adjusted_probabilities(log_before[mine], offsets, temperature).argmax(axis=1)
                ),
            },
            "rule": "for photos the model routes to this type: the probabilities before the class offsets "
            "(referral), their logs plus these class_offsets (minus prior_strength times the log of each class's "
            "share of this type's validation photos), divided by temperature, softmax; kept because, fitted on "
            "half of the type's validation lesions, they raised balanced accuracy on the other half by "
            f"cross_fitted_gain over the shared offsets (mean of {OFFSET_GAIN_HALVINGS} halvings, at least "
            f"{MIN_CROSS_FITTED_GAIN})",
        }
    return kept or None
