"""On-the-fly augmentation with tf.data and Keras preprocessing layers (never stored copies)."""

from __future__ import annotations

from trainer.keras_backend import keras, tf
from trainer.preprocess import INPUT_HEIGHT, INPUT_WIDTH

CENTRE_ZOOM_KEEP = 0.67  # the seed's zoom 0.33: keep the central 67%, resize back


def centre_zoom(image: tf.Tensor, probability: float = 0.5) -> tf.Tensor:
    """With ``probability``, crop the central 67% and resize back to 75x100 (the seed's zoom, centred)."""
    zoomed = tf.image.resize(tf.image.central_crop(image, CENTRE_ZOOM_KEEP), (INPUT_HEIGHT, INPUT_WIDTH), "area")
    return tf.cond(tf.random.uniform(()) < probability, lambda: zoomed, lambda: image)


def build_augmenter(seed: int = 0, dermoscopy: bool = True) -> keras.Sequential:
    """Horizontal flip (the seed's), plus vertical flip and mild colour jitter for dermoscopy."""
    layers = [keras.layers.RandomFlip("horizontal_and_vertical" if dermoscopy else "horizontal", seed=seed)]
    if dermoscopy:
        layers += [
            keras.layers.RandomBrightness(0.1, value_range=(0, 255), seed=seed),
            keras.layers.RandomContrast(0.1, seed=seed),
        ]
    return keras.Sequential(layers, name="augment")


def augment_fn(seed: int = 0, dermoscopy: bool = True):
    """A tf.data map function applying the centre zoom then the Keras layers to one float image."""
    augmenter = build_augmenter(seed, dermoscopy)

    def augment(image: tf.Tensor, label: tf.Tensor):
        image = centre_zoom(image)
        image = augmenter(image[tf.newaxis], training=True)[0]
        return tf.clip_by_value(image, 0.0, 255.0), label

    return augment
