"""How far a figure could move with another draw of lesions: 95% intervals by a lesion-clustered,
class-stratified percentile bootstrap, and paired intervals for the difference between two models on the
same images.

Balanced accuracy, macro AUC and each class's recall get intervals; ECE does not: the binned ECE of a resample
is biased upwards (its bins' accuracies are noisier), so for a well-calibrated model the resampled values can
all lie above the estimate, and a percentile interval would mislead.

Each resample draws, within each class, as many lesions as that class has, with replacement; an image weighs as
many times as its lesion was drawn, so the two photos of a MILK10k lesion (or HAM10000's repeat photos of one
lesion) move together and every class keeps its support. The metrics are computed from those weights for a
chunk of resamples at once (numpy), matching :func:`trainer.metrics.classification_metrics` on each resample.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from trainer.info import CLASS_CODES, NUM_CLASSES
from trainer.metrics import classification_metrics, group_masks

RESAMPLES = 1000
LEVEL = 0.95
SEED = 0
CHUNK = 200  # resamples weighed at once: CHUNK x images float64 weights
MELANOMA = CLASS_CODES.index("mel")


def resample_weights(
    labels: np.ndarray, lesions: Sequence[str] | None, resamples: int = RESAMPLES, seed: int = SEED
) -> Iterator[np.ndarray]:
    """Chunks of per-image weights, each ``(resamples in chunk, images)``: how often each image's lesion was
    drawn. ``lesions`` are lesion ids (one per image); ``None`` makes each image its own lesion."""
    labels = np.asarray(labels)
    ids = np.asarray(lesions if lesions is not None else np.arange(len(labels))).astype(str)
    _, first, cluster = np.unique(ids, return_index=True, return_inverse=True)
    cluster_labels = labels[first]
    rng = np.random.default_rng(seed)
    for start in range(0, resamples, CHUNK):
        size = min(CHUNK, resamples - start)
        counts = np.zeros((size, len(first)))
        for c in np.unique(cluster_labels):
            members = np.flatnonzero(cluster_labels == c)
            counts[:, members] = rng.multinomial(len(members), np.full(len(members), 1 / len(members)), size=size)
        yield counts[:, cluster]


def weighted_auc(weights: np.ndarray, positive: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """One-vs-rest ROC AUC for each row of ``weights`` (the Mann-Whitney statistic, ties counted half), as
    ``sklearn.metrics.roc_auc_score(positive, scores, sample_weight=row)`` gives it."""
    order = np.argsort(scores, kind="stable")
    sorted_scores = scores[order]
    new_value = np.r_[True, sorted_scores[1:] != sorted_scores[:-1]]
    starts = np.flatnonzero(new_value)
    w = weights[:, order]
    is_positive = positive[order].astype(bool)
    positive_in_tie = np.add.reduceat(np.where(is_positive, w, 0.0), starts, axis=1)
    negative_in_tie = np.add.reduceat(np.where(is_positive, 0.0, w), starts, axis=1)
    negative_below = np.cumsum(negative_in_tie, axis=1) - negative_in_tie
    wins = (positive_in_tie * (negative_below + 0.5 * negative_in_tie)).sum(axis=1)
    return wins / (positive_in_tie.sum(axis=1) * negative_in_tie.sum(axis=1))


def resampled_scores(weights: np.ndarray, labels: np.ndarray, probabilities: np.ndarray) -> dict[str, np.ndarray]:
    """Balanced accuracy, macro AUC and per-class recall (``NaN`` for absent classes) for each row of
    ``weights``."""
    labels = np.asarray(labels)
    correct = probabilities.argmax(axis=1) == labels
    recall = np.full((len(weights), NUM_CLASSES), np.nan)
    aucs = []
    for c in range(NUM_CLASSES):
        members = labels == c
        if members.any():
            recall[:, c] = (weights[:, members] * correct[members]).sum(axis=1) / weights[:, members].sum(axis=1)
        if 0 < members.sum() < len(labels):
            aucs.append(weighted_auc(weights, members, probabilities[:, c]))
    return {
        "balanced_accuracy": np.nanmean(recall, axis=1),
        "macro_auc": np.mean(aucs, axis=0) if aucs else np.full(len(weights), np.nan),
        "recall": recall,
    }


def _resampling(lesions: Sequence[str] | None, resamples: int) -> dict:
    """What the intervals were drawn over: their level, how many resamples, and of what unit."""
    return {"level": LEVEL, "resamples": resamples, "unit": "lesion" if lesions is not None else "image"}


def _bounds(values: np.ndarray, level: float = LEVEL) -> list[float] | None:
    values = values[np.isfinite(values)]
    if not values.size:
        return None
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return [float(low), float(high)]


def _collect(chunks: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {key: np.concatenate([chunk[key] for chunk in chunks]) for key in chunks[0]}


def bootstrap_intervals(
    labels: np.ndarray,
    probabilities: np.ndarray,
    lesions: Sequence[str] | None = None,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> dict:
    """95% percentile intervals of balanced accuracy, macro AUC, melanoma recall and each class's recall."""
    scores = _collect(
        [resampled_scores(w, labels, probabilities) for w in resample_weights(labels, lesions, resamples, seed)]
    )
    recall = scores["recall"]
    return {
        **_resampling(lesions, resamples),
        "balanced_accuracy": _bounds(scores["balanced_accuracy"]),
        "macro_auc": _bounds(scores["macro_auc"]),
        "mel_recall": _bounds(recall[:, MELANOMA]),
        "recall": {code: _bounds(recall[:, c]) for c, code in enumerate(CLASS_CODES)},
    }


def paired_differences(
    labels: np.ndarray,
    baseline: np.ndarray,
    candidate: np.ndarray,
    lesions: Sequence[str] | None = None,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> dict:
    """Candidate minus baseline on the same images, each resample scoring both on the same draw of lesions:
    the difference, its 95% interval and the share of resamples in which the candidate scores higher."""
    pairs = [
        (resampled_scores(w, labels, baseline), resampled_scores(w, labels, candidate))
        for w in resample_weights(labels, lesions, resamples, seed)
    ]
    before = _collect([a for a, _ in pairs])
    after = _collect([b for _, b in pairs])
    point_before = classification_metrics(labels, baseline)
    point_after = classification_metrics(labels, candidate)
    result: dict = _resampling(lesions, resamples)
    for key in ("balanced_accuracy", "macro_auc"):
        result[key] = _difference(point_after[key], point_before[key], after[key] - before[key])
    mel_delta = after["recall"][:, MELANOMA] - before["recall"][:, MELANOMA]
    result["mel_recall"] = _difference(
        point_after["per_class"]["mel"]["recall"], point_before["per_class"]["mel"]["recall"], mel_delta
    )
    return result


def _difference(after: float | None, before: float | None, delta: np.ndarray) -> dict:
    finite = delta[np.isfinite(delta)]
    measured = finite.size and after is not None and before is not None
    return {
        "baseline": before,
        "candidate": after,
        "difference": after - before if measured else None,
        "interval": _bounds(delta),
        "share_candidate_better": float((finite > 0).mean()) if finite.size else None,
    }


def scored(labels: np.ndarray, probabilities: np.ndarray, lesions: Sequence[str] | None = None) -> dict:
    """:func:`trainer.metrics.classification_metrics` with their :func:`bootstrap_intervals`."""
    labels = np.asarray(labels)
    metrics = classification_metrics(labels, probabilities)
    if len(labels):
        metrics["intervals"] = bootstrap_intervals(labels, probabilities, lesions)
    return metrics


def scored_by_group(
    labels: np.ndarray,
    probabilities: np.ndarray,
    groupings: dict[str, list[str]],
    lesions: Sequence[str] | None = None,
) -> dict:
    """:func:`scored` per value of each grouping, for the groups :func:`trainer.metrics.group_masks` keeps."""
    ids = None if lesions is None else np.asarray(lesions)
    return {
        kind: {
            value: scored(labels[members], probabilities[members], None if ids is None else ids[members].tolist())
            for value, members in group_masks(values).items()
        }
        for kind, values in groupings.items()
    }
