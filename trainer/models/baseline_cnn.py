"""The seed project's deployed CNN, kept as a baseline (≈1.8 GMAC per image, ~104 MB exported)."""

from trainer.keras_backend import keras
from trainer.models.heads import Network, image_input, softmax_output


def build_baseline_cnn() -> Network:
    """Five Conv64 'same' + Conv64 'valid', pool, dropout; Conv128 x2; Dense 512; softmax (raw 0..255 in)."""
    inputs = image_input()
    x = inputs
    for _ in range(5):
        x = keras.layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(64, 3, padding="valid", activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Dropout(0.25)(x)
    x = keras.layers.Conv2D(128, 3, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(128, 3, padding="valid", activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Dropout(0.25)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(512, activation="relu")(x)
    x = keras.layers.Dropout(0.5)(x)
    return Network(keras.Model(inputs, softmax_output(x), name="baseline_cnn"))
