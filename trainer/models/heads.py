"""Shared input and output layers: every model ends in a linear ``logits`` layer then softmax.

Keeping the logits layer separate lets calibration fold a temperature into its weights.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from trainer.info import NUM_CLASSES
from trainer.keras_backend import keras, tf
from trainer.preprocess import CHANNELS, INPUT_HEIGHT, INPUT_WIDTH

PROBABILITIES_OUTPUT = "probabilities"


def image_input() -> keras.Input:
    """The model input: float32 RGB pixels 0..255, (75, 100, 3)."""
    return keras.Input(shape=(INPUT_HEIGHT, INPUT_WIDTH, CHANNELS), name="image")


def softmax_output(features: tf.Tensor) -> tf.Tensor:
    """Linear ``logits`` Dense then a separate softmax activation."""
    logits = keras.layers.Dense(NUM_CLASSES, name="logits")(features)
    return keras.layers.Activation("softmax", name=PROBABILITIES_OUTPUT)(logits)


@dataclass
class Network:
    """What an architecture builder hands the trainer: the model, and what transfer learning needs."""

    model: keras.Model
    backbone: list[keras.layers.Layer] = field(default_factory=list)  # pretrained layers (frozen for head epochs)
    export_twin: Callable[[keras.Model], keras.Model] | None = None  # builds the export-ready equivalent

    def inference_model(self) -> keras.Model:
        """The model to export: the export twin of the trained weights, or the model itself."""
        return self.export_twin(self.model) if self.export_twin else self.model
