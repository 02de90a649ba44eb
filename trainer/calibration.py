"""Temperature scaling fitted on validation logits and folded into the model's logits layer."""

from __future__ import annotations

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
