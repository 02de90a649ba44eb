"""Out-of-distribution score: Mahalanobis distance on the model's features (Lee et al., 2018).

The features are, for EfficientNet-Lite0, the spatially averaged output of its block 8 (112 channels at 1/16
of the input), else the penultimate features (the input of the ``logits`` Dense layer). Mid-level features
stay generic; the penultimate ones of a network trained long and distilled map screenshots, faces and photos
into the lesion classes' clusters (docs/ood.md). Fitted on training images: one mean per class and
one covariance shared by the classes (Ledoit-Wolf shrinkage, so rare classes and dead ReLU units do not make
it singular). The score of an image is its squared Mahalanobis distance to the nearest class mean:

    score(f) = min_c (f - mu_c)^T P (f - mu_c),   P = shared precision matrix.

:func:`with_ood_output` appends this computation to the model as a second output built from standard layers
only (Dense, Activation, Multiply, Concatenate, Reshape, GlobalMaxPooling1D), so TF.js runs the same graph in
the browser. With P = L L^T (Cholesky) and z = L^T (f - centre), m_c = L^T (mu_c - centre):

    distance_c = ||z||^2 - 2 z.m_c + ||m_c||^2     (one Dense layer on [z*z, z])
    score      = -max_c(-distance_c)               (Reshape + GlobalMaxPooling1D, then a 1x1 Dense)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from sklearn.covariance import LedoitWolf

from trainer.models import LOGITS_LAYER

if TYPE_CHECKING:
    from trainer.keras_backend import keras

OOD_OUTPUT = "ood_score"
METHOD = "mahalanobis-penultimate"
MID_LEVEL_METHOD = "mahalanobis-block8"
MID_LEVEL_BLOCK = "lite0_block8_project"  # its batch norm in a trained model, its conv in the folded export twin
POOL_LAYER = "ood_pool"
FEATURES_DESCRIBED = {
    METHOD: "the penultimate features",
    MID_LEVEL_METHOD: "the spatially averaged features of the backbone's block 8",
}
TARGET_FALSE_ALARM = 0.03
# The threshold flags this much less than the target on validation, so that the rate on unseen lesion
# images (a sampling error of about 0.5 point for 1500 validation images) stays within the target.
VALIDATION_MARGIN = 0.01


@dataclass(frozen=True)
class MahalanobisFit:
    """Class means and shared precision of training features, centred on their overall mean."""

    centre: np.ndarray  # (d,) mean of all training features
    class_means: np.ndarray  # (k, d) means of the classes present in training, minus ``centre``
    classes: np.ndarray  # (k,) the class index of each row of ``class_means``
    precision: np.ndarray  # (d, d) inverse of the shrunk shared covariance


def _first_layer(model: keras.Model, *names: str) -> keras.layers.Layer | None:
    """The first of the named layers that ``model`` has, or None."""
    layers = {layer.name: layer for layer in model.layers}
    return next((layers[name] for name in names if name in layers), None)


def _mid_level_layer(model: keras.Model) -> keras.layers.Layer | None:
    return _first_layer(model, f"{MID_LEVEL_BLOCK}_bn", f"{MID_LEVEL_BLOCK}_conv")


def ood_method(model: keras.Model) -> str:
    """Which features the score of ``model`` measures: ``MID_LEVEL_METHOD`` for EfficientNet-Lite0, else ``METHOD``."""
    return MID_LEVEL_METHOD if _mid_level_layer(model) is not None else METHOD


def ood_features(model: keras.Model) -> keras.KerasTensor:
    """The (None, d) features the score measures: block 8's output averaged over space, else the penultimate."""
    from trainer.keras_backend import keras

    block = _mid_level_layer(model)
    if block is None:
        return model.get_layer(LOGITS_LAYER).input
    pooled = _first_layer(model, POOL_LAYER)  # a model that has the score already
    return pooled.output if pooled else keras.layers.GlobalAveragePooling2D(name=POOL_LAYER)(block.output)


def feature_values(model: keras.Model, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """:func:`ood_features` for float or uint8 images (N, 75, 100, 3): (N, d) float64."""
    from trainer.keras_backend import keras

    features = keras.Model(model.inputs, ood_features(model))
    return features.predict(np.asarray(images, np.float32), batch_size=batch_size, verbose=0).astype(np.float64)


def fit_mahalanobis(features: np.ndarray, labels: np.ndarray) -> MahalanobisFit:
    """Class-conditional means and a shared, shrunk covariance of (N, d) training features."""
    features, labels = np.asarray(features, np.float64), np.asarray(labels)
    if features.ndim != 2 or len(features) != len(labels):
        raise ValueError(f"expected (N, d) features and N labels, got {features.shape} and {labels.shape}")
    classes = np.unique(labels)
    if len(features) <= len(classes):
        raise ValueError(f"{len(features)} feature vectors cannot fit {len(classes)} class means and a covariance")
    centre = features.mean(axis=0)
    means = np.stack([features[labels == c].mean(axis=0) for c in classes])
    residuals = features - means[np.searchsorted(classes, labels)]
    covariance = LedoitWolf(assume_centered=True).fit(residuals)
    return MahalanobisFit(centre, means - centre, classes, covariance.precision_)


def mahalanobis_scores(fit: MahalanobisFit, features: np.ndarray) -> np.ndarray:
    """NumPy reference of the score: squared Mahalanobis distance to the nearest class mean, (N,)."""
    offsets = (np.asarray(features, np.float64) - fit.centre)[:, None, :] - fit.class_means[None]
    return np.einsum("nkd,de,nke->nk", offsets, fit.precision, offsets).min(axis=1)


def ood_layers(features: keras.KerasTensor, fit: MahalanobisFit) -> keras.KerasTensor:
    """Append the score's layers, with their weights set from ``fit``, to a (None, d) features tensor.

    Returns the (None, 1) score tensor, the output of a Dense layer named ``ood_score``.
    """
    from trainer.keras_backend import keras

    layers = keras.layers
    dims, count = fit.precision.shape[0], len(fit.classes)
    whitening = np.linalg.cholesky(fit.precision)  # P = L L^T, so z = (f - centre) L
    whitened_means = fit.class_means @ whitening  # (k, d)

    whiten = layers.Dense(dims, name="ood_whiten")
    distances = layers.Dense(count, name="ood_class_distances")  # minus each class's distance
    negate = layers.Dense(1, name=OOD_OUTPUT)
    z = whiten(features)
    # TF.js 4.22 disposes a tensor fed twice to one layer too early (Multiply()([z, z]) breaks the Concatenate
    # that also reads z): square z times an identity copy of it instead.
    copy = layers.Activation("linear", name="ood_copy")(z)
    terms = layers.Concatenate(name="ood_terms")([layers.Multiply(name="ood_square")([z, copy]), z])
    nearest = layers.GlobalMaxPooling1D(name="ood_nearest")(
        layers.Reshape((count, 1), name="ood_steps")(distances(terms))
    )
    score = negate(nearest)

    whiten.set_weights([whitening, -fit.centre @ whitening])
    distances.set_weights(
        [np.concatenate([-np.ones((dims, count)), 2 * whitened_means.T]), -(whitened_means**2).sum(1)]
    )
    negate.set_weights([-np.ones((1, 1)), np.zeros(1)])
    return score


def with_ood_output(model: keras.Model, train_features: np.ndarray, train_labels: np.ndarray) -> keras.Model:
    """``model`` with a second output, the OOD score: outputs ``[probabilities, ood_score]``.

    ``train_features`` are :func:`feature_values` of ``model`` on training images. The layers of
    ``model`` are shared, not copied.
    """
    from trainer.keras_backend import keras

    if len(model.outputs) != 1:
        raise ValueError(f"{model.name} already has {len(model.outputs)} outputs; expected the probabilities only")
    score = ood_layers(ood_features(model), fit_mahalanobis(train_features, train_labels))
    return keras.Model(model.inputs, [model.outputs[0], score], name=model.name)


def ood_threshold(validation_scores: np.ndarray, false_alarm: float = TARGET_FALSE_ALARM) -> float:
    """The score above which an image is out of distribution: flags ``false_alarm - VALIDATION_MARGIN`` of
    validation images (lesion images the model did not train on)."""
    scores = np.asarray(validation_scores, np.float64).ravel()
    if scores.size == 0 or not np.isfinite(scores).all():
        raise ValueError("the OOD threshold needs finite scores of at least one validation image")
    if not VALIDATION_MARGIN < false_alarm < 1:
        raise ValueError(f"false_alarm must lie in ({VALIDATION_MARGIN}, 1), got {false_alarm}")
    return float(np.quantile(scores, 1 - (false_alarm - VALIDATION_MARGIN), method="higher"))


def is_out_of_distribution(scores: np.ndarray, threshold: float) -> np.ndarray:
    """Per image: the score is above the threshold."""
    return np.asarray(scores, np.float64).ravel() > threshold


def ood_decision(
    threshold: float,
    validation_scores: np.ndarray,
    held_out_scores: Mapping[str, np.ndarray] | None = None,
    false_alarm: float = TARGET_FALSE_ALARM,
    method: str = METHOD,
) -> dict:
    """The manifest's ``decision.ood`` entry; ``held_out_scores`` (e.g. ``{"test": ...}``) of lesion images
    the threshold was not chosen on add their false-alarm rates."""
    rates = {
        name: float(is_out_of_distribution(scores, threshold).mean())
        for name, scores in (held_out_scores or {}).items()
    }
    flagged = is_out_of_distribution(validation_scores, threshold)
    return {
        "method": method,
        "output": OOD_OUTPUT,
        "threshold": threshold,
        "rule": f"the model's second output, the squared Mahalanobis distance of {FEATURES_DESCRIBED[method]} to the "
        "nearest class mean (shared shrunk covariance, fitted on training images), above this marks a photo the "
        f"model cannot judge; chosen to flag at most {false_alarm:.0%} of held-out lesion images",
        "target_false_alarm_rate": false_alarm,
        "validation_false_alarm_rate": float(flagged.mean()),
        "validation_images": int(flagged.size),
        **{f"{name}_false_alarm_rate": rate for name, rate in rates.items()},
    }
