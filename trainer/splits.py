"""Train / validation / test splits: grouped by lesion by default, the baseline project's leaky split on request."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, train_test_split

from trainer.info import CLASS_CODES, NUM_CLASSES

SPLIT_KINDS = ("grouped", "baseline")
SPLIT_ALIASES = {"seed": "baseline"}  # deprecated spelling


@dataclass
class Split:
    """Index arrays into a dataset, and how they were made."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    kind: str
    seed: int
    note: str

    def summary(self, labels: np.ndarray) -> dict:
        """Counts per class per part, for the report."""
        parts = {"train": self.train, "validation": self.validation, "test": self.test}
        return {
            "kind": self.kind,
            "seed": self.seed,
            "note": self.note,
            "counts": {
                name: dict(zip(CLASS_CODES, np.bincount(labels[idx], minlength=NUM_CLASSES).tolist()))
                for name, idx in parts.items()
            },
        }


def _stratify_or_none(labels: np.ndarray) -> np.ndarray | None:
    counts = np.bincount(labels)
    return labels if counts[counts > 0].min() >= 2 else None


def _grouped_holdout(labels, groups, fraction, seed, indices) -> tuple[np.ndarray, np.ndarray]:
    """Hold out about ``fraction`` of ``indices``, whole groups only, stratified on ``labels``."""
    # Tiny datasets: StratifiedGroupKFold needs some class with at least as many members as folds.
    folds = max(2, min(round(1 / fraction), int(np.bincount(labels[indices]).max())))
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # rare classes with fewer members than folds
        rest, held = next(splitter.split(indices, labels[indices], np.asarray(groups)[indices]))
    return indices[rest], indices[held]


def grouped_split(
    labels: np.ndarray, groups: list[str], seed: int = 0, holdout: float = 0.15, strata: np.ndarray | None = None
) -> Split:
    """Stratified split with every lesion's images in one part only (about 70/15/15).

    ``strata`` (default: the labels) is what each part keeps in proportion, e.g. class x image type.
    """
    strata = labels if strata is None else strata
    indices = np.arange(len(labels))
    rest, test = _grouped_holdout(strata, groups, holdout, seed, indices)
    train, validation = _grouped_holdout(strata, groups, holdout / (1 - holdout), seed, rest)
    return Split(train, validation, test, "grouped", seed, "stratified, grouped by lesion_id (no lesion in two parts)")


def stratified_split(labels: np.ndarray, seed: int = 0, holdout: float = 0.15) -> Split:
    """Stratified image-level split for data without lesion ids (about 70/15/15)."""
    indices = np.arange(len(labels))
    rest, test = train_test_split(indices, test_size=holdout, random_state=seed, stratify=_stratify_or_none(labels))
    train, validation = train_test_split(
        rest, test_size=holdout / (1 - holdout), random_state=seed, stratify=_stratify_or_none(labels[rest])
    )
    note = "stratified by image: no lesion ids in this data, so images of one lesion may fall in two parts"
    return Split(train, validation, test, "stratified", seed, note)


def baseline_split(labels: np.ndarray, validation: float = 0.15) -> Split:
    """The baseline's ``train_test_split(X, y, test_size=0.4, random_state=101)``; validation carved from train."""
    indices = np.arange(len(labels))
    train, test = train_test_split(indices, test_size=0.4, random_state=101)
    train, val = train_test_split(
        train, test_size=validation, random_state=101, stratify=_stratify_or_none(labels[train])
    )
    note = "the baseline's random image split (test_size=0.4, random_state=101): LEAKS lesions across parts"
    return Split(train, val, test, "baseline", 101, note)


def make_split(
    kind: str, labels: np.ndarray, groups: list[str] | None, seed: int = 0, strata: np.ndarray | None = None
) -> Split:
    """Dispatch on ``--split``; warn about leakage and fall back to stratified without lesion ids."""
    kind = SPLIT_ALIASES.get(kind, kind)
    if kind == "baseline":
        warnings.warn("--split baseline splits images, not lesions: test scores are inflated by leakage", stacklevel=2)
        return baseline_split(labels)
    if kind != "grouped":
        raise ValueError(f"unknown split {kind!r}; choose from {SPLIT_KINDS}")
    if groups is None:
        print("note: no lesion ids in this data; falling back to a stratified image-level split")
        return stratified_split(labels, seed)
    return grouped_split(labels, groups, seed, strata=strata)
