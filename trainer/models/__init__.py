"""Model architectures, selected by name with ``--arch``."""

from __future__ import annotations

from collections.abc import Callable

from trainer.keras_backend import keras
from trainer.models.compact_cnn import build_compact_cnn
from trainer.models.efficientnet_lite import BACKBONE_PREFIX, build_efficientnet_lite0, fold_batch_norms
from trainer.models.seed_cnn import build_seed_cnn

ARCHITECTURES: dict[str, Callable[[], keras.Model]] = {
    "efficientnet-lite0": build_efficientnet_lite0,
    "compact-cnn": build_compact_cnn,
    "seed-cnn": build_seed_cnn,
}
DEFAULT_ARCH = "efficientnet-lite0"
LOGITS_LAYER = "logits"


def inference_model(model: keras.Model) -> keras.Model:
    """The model to export: EfficientNet-Lite0 with its batch norms folded away, others as they are."""
    if any(layer.name.startswith(BACKBONE_PREFIX) for layer in model.layers):
        return fold_batch_norms(model)
    return model


def build_model(arch: str) -> keras.Model:
    """Build a fresh model: float32 RGB 0..255 in, softmax over the 7 classes out."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown --arch {arch!r}; choose from {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[arch]()
