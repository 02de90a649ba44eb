"""Custom layers, each with a TF.js twin in ``static/js/layers.js`` that computes the same thing."""

from __future__ import annotations

from trainer.keras_backend import keras, tf


class AlignedResizing(keras.layers.Layer):
    """Bilinear resizing of a batch of images to ``height`` x ``width`` with aligned corners.

    tf-keras's ``Resizing`` uses half-pixel centres, and TF.js's ``Resizing`` layer reports a wrong
    output shape, so the model uses this layer, whose TF.js twin calls ``tf.image.resizeBilinear``
    with ``alignCorners`` set: both sides compute the same pixels.
    """

    def __init__(self, height: int, width: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.height, self.width = int(height), int(width)

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        return tf.compat.v1.image.resize_bilinear(inputs, (self.height, self.width), align_corners=True)

    def compute_output_shape(self, input_shape):
        return tf.TensorShape([input_shape[0], self.height, self.width, input_shape[-1]])

    def get_config(self) -> dict:
        return super().get_config() | {"height": self.height, "width": self.width}


CUSTOM_OBJECTS = {"AlignedResizing": AlignedResizing}
