"""Shared input and output layers: every model ends in a linear ``logits`` layer then softmax.

Keeping the logits layer separate lets calibration fold a temperature into its weights.
"""

from trainer.info import NUM_CLASSES
from trainer.keras_backend import keras, tf
from trainer.preprocess import CHANNELS, INPUT_HEIGHT, INPUT_WIDTH


def image_input() -> keras.Input:
    """The model input: float32 RGB pixels 0..255, (75, 100, 3)."""
    return keras.Input(shape=(INPUT_HEIGHT, INPUT_WIDTH, CHANNELS), name="image")


def softmax_output(features: tf.Tensor) -> tf.Tensor:
    """Linear ``logits`` Dense then a separate softmax activation."""
    logits = keras.layers.Dense(NUM_CLASSES, name="logits")(features)
    return keras.layers.Activation("softmax", name="probabilities")(logits)
