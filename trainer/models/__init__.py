"""Model architectures, selected by name with ``--arch``; builders are imported only when used."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trainer.keras_backend import keras

# --arch name -> "module:builder" (lazy, so the CLI can list architectures without importing TensorFlow).
ARCHITECTURES: dict[str, str] = {
    "efficientnet-lite0": "trainer.models.efficientnet_lite:build_efficientnet_lite0",
    "compact-cnn": "trainer.models.compact_cnn:build_compact_cnn",
    "seed-cnn": "trainer.models.seed_cnn:build_seed_cnn",
}
DEFAULT_ARCH = "efficientnet-lite0"
LOGITS_LAYER = "logits"


def build_model(arch: str) -> keras.Model:
    """Build a fresh model: float32 RGB 0..255 in, softmax over the 7 classes out."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown --arch {arch!r}; choose from {sorted(ARCHITECTURES)}")
    module, builder = ARCHITECTURES[arch].split(":")
    return getattr(import_module(module), builder)()


def inference_model(model: keras.Model) -> keras.Model:
    """The model to export: EfficientNet-Lite0 with its batch norms folded away, others as they are."""
    from trainer.models.efficientnet_lite import BACKBONE_PREFIX, fold_batch_norms

    if any(layer.name.startswith(BACKBONE_PREFIX) for layer in model.layers):
        return fold_batch_norms(model)
    return model
