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


class ShadesOfGray(keras.layers.Layer):
    """Shades of Gray colour constancy (Finlayson and Trezzi 2004) on RGB 0..255 images.

    Each image's illuminant is the Minkowski ``power``-mean of each channel; every channel is scaled
    so that the illuminant becomes neutral grey of the same length (as the ISIC 2019 winners did, with
    ``power`` 6), then clipped to 0..255. Its TF.js twin computes the same in the browser.
    """

    def __init__(self, power: float = 6.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.power = float(power)

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        scaled = inputs / 255.0
        illuminant = tf.reduce_mean(scaled**self.power, axis=(1, 2), keepdims=True) ** (1.0 / self.power)
        length = tf.sqrt(tf.reduce_sum(illuminant**2, axis=-1, keepdims=True))
        gain = length / (illuminant * 3.0**0.5 + 1e-6)
        return tf.clip_by_value(inputs * gain, 0.0, 255.0)

    def get_config(self) -> dict:
        return super().get_config() | {"power": self.power}


CUSTOM_OBJECTS = {"AlignedResizing": AlignedResizing, "ShadesOfGray": ShadesOfGray}
