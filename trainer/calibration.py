"""Temperature scaling fitted on validation logits and folded into the model's logits layer."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax

from trainer.keras_backend import keras
from trainer.models import LOGITS_LAYER


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature T > 0 minimising the negative log-likelihood of softmax(logits / T)."""

    def nll(log_t: float) -> float:
        scaled = log_softmax(logits / np.exp(log_t), axis=1)
        return float(-scaled[np.arange(len(labels)), labels].mean())

    return float(np.exp(minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded").x))


def logits_model(model: keras.Model) -> keras.Model:
    """A view of ``model`` that outputs the pre-softmax logits."""
    return keras.Model(model.input, model.get_layer(LOGITS_LAYER).output)


def fold_temperature(model: keras.Model, temperature: float) -> None:
    """Divide the logits layer's kernel and bias by T, so the model's softmax is calibrated."""
    layer = model.get_layer(LOGITS_LAYER)
    layer.set_weights([w / temperature for w in layer.get_weights()])


OFFSET_GRID = np.round(np.arange(-2.0, 2.01, 0.1), 2)
MIN_CROSS_FITTED_GAIN = 0.01  # offsets are kept only if they raise held-out balanced accuracy at least this much
OFFSET_GAIN_HALVINGS = 20  # random halvings of validation that gain is averaged over (one is too noisy to judge by)


def balanced_accuracy(labels: np.ndarray, predictions: np.ndarray) -> float:
    """Mean recall over the classes present in ``labels``."""
    present = np.unique(labels)
    hits = np.bincount(labels[predictions == labels], minlength=present.max() + 1)[present]
    return float((hits / np.bincount(labels)[present]).mean())


def fit_class_offsets(log_probabilities: np.ndarray, labels: np.ndarray, rounds: int = 3) -> np.ndarray:
    """Per-class additive logit offsets that maximise balanced accuracy of the argmax (coordinate ascent)."""
    offsets = np.zeros(log_probabilities.shape[1])
    for _ in range(rounds):
        for c in range(len(offsets)):
            scores = []
            for value in OFFSET_GRID:
                trial = offsets.copy()
                trial[c] = value
                scores.append(balanced_accuracy(labels, (log_probabilities + trial).argmax(axis=1)))
            offsets[c] = OFFSET_GRID[int(np.argmax(scores))]
    return offsets - offsets.mean()


def cross_fitted_offset_gain(
    log_probabilities: np.ndarray,
    labels: np.ndarray,
    groups: Sequence[str] | None = None,
    halvings: int = OFFSET_GAIN_HALVINGS,
) -> float:
    """Balanced-accuracy gain of offsets fitted on one half of the data and applied to the other (both ways),
    averaged over ``halvings`` random halvings stratified by class; with ``groups`` (lesion ids) the photos of
    one lesion stay in one half, since they are not independent evidence."""
    gains = []
    for fit_idx, held_idx in lesion_halvings(labels, groups, halvings):
        offsets = fit_class_offsets(log_probabilities[fit_idx], labels[fit_idx])
        held, truth = log_probabilities[held_idx], labels[held_idx]
        before = balanced_accuracy(truth, held.argmax(axis=1))
        gains.append(balanced_accuracy(truth, (held + offsets).argmax(axis=1)) - before)
    return float(np.mean(gains))


def lesion_halvings(
    labels: np.ndarray, groups: Sequence[str] | None, halvings: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(fit, held-out) index pairs: both ways of ``halvings`` random halvings (seeds 0, 1, ...) stratified by class,
    the photos of one group (lesion; None: each photo its own) in one half."""
    from sklearn.model_selection import StratifiedGroupKFold

    groups = np.arange(len(labels)) if groups is None else np.asarray(groups)
    for seed in range(halvings):
        yield from StratifiedGroupKFold(2, shuffle=True, random_state=seed).split(labels, labels, groups)


def fold_offsets(model: keras.Model, offsets: np.ndarray) -> None:
    """Add per-class offsets to the logits layer's bias (the softmax then shifts each class's odds)."""
    layer = model.get_layer(LOGITS_LAYER)
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel, bias + offsets.astype(bias.dtype)])
