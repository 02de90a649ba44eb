"""A compact from-scratch CNN: depthwise-separable convolutions, batch norm, global pooling (~40k params).

Separable blocks are written as DepthwiseConv2D + 1x1 Conv2D: TF.js rejects the
SeparableConv2D config that tf-keras exports (kernelInitializer fields).
"""

from trainer.keras_backend import keras
from trainer.models.heads import Network, image_input, softmax_output


def build_compact_cnn(widths: tuple[int, ...] = (32, 64, 128, 192)) -> Network:
    """Stem conv then one stride-2 separable block per width; inputs scaled from 0..255 inside."""
    inputs = image_input()
    x = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="normalise")(inputs)
    x = keras.layers.Conv2D(widths[0], 3, strides=2, padding="same", use_bias=False)(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    for width in widths[1:]:
        x = keras.layers.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
        x = keras.layers.Conv2D(width, 1, use_bias=False)(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.ReLU()(x)
        x = keras.layers.MaxPooling2D(padding="same")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = keras.layers.Dropout(0.3)(x)
    return Network(keras.Model(inputs, softmax_output(x), name="compact_cnn"))
