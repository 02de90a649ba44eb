"""Classification metrics for imbalanced lesion data (scikit-learn does the arithmetic)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
)

from trainer.info import CLASS_CODES, NUM_CLASSES

CALIBRATION_BINS = 15
MIN_GROUP_IMAGES = 30  # smaller groups get no metrics of their own: their recalls would be noise


def calibration_bin_index(confidence: np.ndarray, bins: int = CALIBRATION_BINS) -> np.ndarray:
    """Which of ``bins`` equal-width confidence bins each value falls in."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    return np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)


def expected_calibration_error(labels: np.ndarray, probabilities: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    """ECE of the top-class confidence over equal-width bins."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    which = calibration_bin_index(confidence, bins)
    error = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            error += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(error)


def reliability_bins(labels: np.ndarray, probabilities: np.ndarray, bins: int = CALIBRATION_BINS) -> dict:
    """Per-bin mean confidence, accuracy and count, for the reliability diagram."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = calibration_bin_index(confidence, bins)
    rows = [(confidence[which == b], correct[which == b]) for b in range(bins)]
    return {
        "edges": edges.tolist(),
        "confidence": [float(c.mean()) if c.size else None for c, _ in rows],
        "accuracy": [float(k.mean()) if k.size else None for _, k in rows],
        "count": [int(c.size) for c, _ in rows],
    }


def _safe_auc(truth: np.ndarray, scores: np.ndarray) -> float | None:
    return float(roc_auc_score(truth, scores)) if 0 < truth.sum() < truth.size else None


def classification_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict:
    """Accuracy, balanced accuracy, macro/per-class one-vs-rest AUC, recall, precision, specificity, ECE."""
    labels = np.asarray(labels)
    predictions = probabilities.argmax(axis=1)
    classes = list(range(NUM_CLASSES))
    matrix = confusion_matrix(labels, predictions, labels=classes)
    precision, recall, _, support = precision_recall_fscore_support(
        labels, predictions, labels=classes, zero_division=0
    )
    one_hot = np.eye(NUM_CLASSES)[labels]
    per_class = {}
    for i, code in enumerate(CLASS_CODES):
        negatives = matrix.sum() - matrix[i].sum()
        false_positives = matrix[:, i].sum() - matrix[i, i]
        per_class[code] = {
            "recall": float(recall[i]),
            "precision": float(precision[i]),
            "specificity": float((negatives - false_positives) / negatives) if negatives else None,
            "auc": _safe_auc(one_hot[:, i], probabilities[:, i]),
            "support": int(support[i]),
        }
    aucs = [c["auc"] for c in per_class.values() if c["auc"] is not None]
    present = np.unique(labels)
    return {
        "n": len(labels),
        "accuracy": float(accuracy_score(labels, predictions)),
        "balanced_accuracy": float(balanced_accuracy_score(labels, predictions)) if len(labels) else None,
        "macro_auc": float(np.mean(aucs)) if aucs else None,
        # The baseline's roc_auc_score on one-hot labels (sklearn's default macro average over present classes).
        "baseline_roc_auc": float(roc_auc_score(one_hot[:, present], probabilities[:, present]))
        if len(present) > 1
        else None,
        "ece": expected_calibration_error(labels, probabilities),
        "per_class": per_class,
        "confusion_matrix": matrix.tolist(),
    }


def masks_by_value(values) -> dict[str, np.ndarray]:
    """One boolean mask per distinct value (sorted), e.g. the images of each image type."""
    values = np.asarray(values)
    return {value: values == value for value in sorted(set(values.tolist()))}


def group_masks(values) -> dict[str, np.ndarray]:
    """:func:`masks_by_value` for the known values (``""`` means unknown) of at least :data:`MIN_GROUP_IMAGES`
    images."""
    return {
        value: members
        for value, members in masks_by_value(values).items()
        if value and members.sum() >= MIN_GROUP_IMAGES
    }


def metrics_by_group(labels: np.ndarray, probabilities: np.ndarray, groupings: dict[str, list[str]]) -> dict:
    """Metrics per value of each grouping (e.g. ``{"image_type": [...], "skin_tone": [...]}``, one value per
    image), for the groups :func:`group_masks` keeps."""
    return {
        kind: {value: classification_metrics(labels[m], probabilities[m]) for value, m in group_masks(values).items()}
        for kind, values in groupings.items()
    }
