"""Decision thresholds for the page, chosen on validation data and stored in the manifest."""

from __future__ import annotations

import numpy as np

from trainer.info import CLASSES

TARGET_SELECTIVE_ACCURACY = 0.85
TARGET_URGENT_SENSITIVITY = 0.90
CONFIDENCE_GRID = np.round(np.arange(0.30, 0.951, 0.01), 2)


def choose_thresholds(labels: np.ndarray, probabilities: np.ndarray) -> dict:
    """``uncertain_below``: the lowest top-probability at which validation accuracy reaches 85%;
    ``urgent_probability``: the summed probability of urgent classes that flags 90% of urgent lesions."""
    top, correct = probabilities.max(axis=1), probabilities.argmax(axis=1) == labels
    uncertain_below = float(CONFIDENCE_GRID[-1])
    for threshold in CONFIDENCE_GRID:
        confident = top >= threshold
        if confident.any() and correct[confident].mean() >= TARGET_SELECTIVE_ACCURACY:
            uncertain_below = float(threshold)
            break
    confident = top >= uncertain_below
    urgent_classes = [i for i, c in enumerate(CLASSES) if c.urgent]
    urgent_score = probabilities[:, urgent_classes].sum(axis=1)
    is_urgent = np.isin(labels, urgent_classes)
    urgent_probability = (
        float(np.quantile(urgent_score[is_urgent], 1 - TARGET_URGENT_SENSITIVITY)) if is_urgent.any() else 0.2
    )
    flagged = urgent_score >= urgent_probability
    return {
        "uncertain_below": uncertain_below,
        "uncertain_rule": "top probability below this is 'unsure': validation accuracy above it reached "
        f"{TARGET_SELECTIVE_ACCURACY}",
        "validation_coverage_above": float(confident.mean()),
        "validation_accuracy_above": float(correct[confident].mean()) if confident.any() else None,
        "urgent_classes": [CLASSES[i].code for i in urgent_classes],
        "urgent_probability": urgent_probability,
        "urgent_rule": f"summed probability of urgent classes at or above this flags {TARGET_URGENT_SENSITIVITY:.0%} "
        "of urgent validation lesions",
        "validation_urgent_sensitivity": float(flagged[is_urgent].mean()) if is_urgent.any() else None,
        "validation_urgent_specificity": float((~flagged[~is_urgent]).mean()) if (~is_urgent).any() else None,
    }
