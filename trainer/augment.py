"""On-the-fly augmentation with tf.data and Keras preprocessing layers (never stored copies).

Modes (``--augment``):
- ``device``: what differs between cameras, dermatoscopes and clinics: any rotation, scale and aspect
  jitter, white balance, hue, saturation, gamma, brightness and contrast, blur, noise, JPEG quality and
  dermatoscope vignettes (the default).
- ``dermoscopy``: the baseline's horizontal flip and centre zoom, plus vertical flip and mild colour jitter.
- ``baseline``: the baseline's two transforms only; ``none``.
"""

from __future__ import annotations

from trainer.augment_modes import AUGMENT_ALIASES
from trainer.keras_backend import keras, tf
from trainer.preprocess import INPUT_HEIGHT, INPUT_WIDTH

CENTRE_ZOOM_KEEP = 0.67  # the baseline's zoom 0.33: keep the central 67%, resize back


def centre_zoom(image: tf.Tensor, probability: float = 0.5) -> tf.Tensor:
    """With ``probability``, crop the central 67% and resize back to 75x100 (the baseline's zoom, centred)."""
    zoomed = tf.image.resize(tf.image.central_crop(image, CENTRE_ZOOM_KEEP), (INPUT_HEIGHT, INPUT_WIDTH), "area")
    return tf.cond(tf.random.uniform(()) < probability, lambda: zoomed, lambda: image)


def build_augmenter(seed: int = 0, dermoscopy: bool = True) -> keras.Sequential:
    """Horizontal flip (the baseline's), plus vertical flip and mild colour jitter for dermoscopy."""
    layers = [keras.layers.RandomFlip("horizontal_and_vertical" if dermoscopy else "horizontal", seed=seed)]
    if dermoscopy:
        layers += [
            keras.layers.RandomBrightness(0.1, value_range=(0, 255), seed=seed),
            keras.layers.RandomContrast(0.1, seed=seed),
        ]
    return keras.Sequential(layers, name="augment")


def build_geometry(seed: int = 0) -> keras.Sequential:
    """Flips, rotation by any angle, zoom with independent height/width factors (aspect jitter), shifts."""
    return keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal_and_vertical", seed=seed),
            keras.layers.RandomRotation(0.5, fill_mode="reflect", seed=seed),
            keras.layers.RandomZoom((-0.3, 0.15), (-0.3, 0.15), fill_mode="reflect", seed=seed),
            keras.layers.RandomTranslation(0.08, 0.08, fill_mode="reflect", seed=seed),
        ],
        name="geometry",
    )


def _maybe(probability: float, transform, image: tf.Tensor) -> tf.Tensor:
    return tf.cond(tf.random.uniform(()) < probability, lambda: transform(image), lambda: image)


def colour_jitter(image: tf.Tensor) -> tf.Tensor:
    """White balance (per-channel gain), hue, saturation, gamma, brightness and contrast on 0..1 RGB."""
    image = image * tf.random.uniform((1, 1, 3), 0.85, 1.15)
    image = tf.clip_by_value(image, 0.0, 1.0)
    image = tf.image.random_hue(image, 0.04)
    image = tf.image.random_saturation(image, 0.7, 1.3)
    image = tf.clip_by_value(image, 1e-6, 1.0) ** tf.random.uniform((), 0.8, 1.25)
    image = tf.image.random_brightness(image, 0.12)
    return tf.clip_by_value(tf.image.random_contrast(image, 0.75, 1.3), 0.0, 1.0)


def blur(image: tf.Tensor) -> tf.Tensor:
    """A 3x3 Gaussian blur of random strength (out-of-focus or low-resolution cameras)."""
    sigma = tf.random.uniform((), 0.4, 1.2)
    taps = tf.exp(-(tf.constant([-1.0, 0.0, 1.0]) ** 2) / (2 * sigma**2))
    kernel = tf.tensordot(taps, taps, axes=0)
    kernel = tf.tile((kernel / tf.reduce_sum(kernel))[:, :, None, None], (1, 1, 3, 1))
    padded = tf.pad(image[tf.newaxis], [[0, 0], [1, 1], [1, 1], [0, 0]], mode="REFLECT")
    return tf.nn.depthwise_conv2d(padded, kernel, (1, 1, 1, 1), "VALID")[0]


def noise(image: tf.Tensor) -> tf.Tensor:
    """Gaussian sensor noise of up to 3% of full scale."""
    return tf.clip_by_value(image + tf.random.normal(tf.shape(image), 0.0, tf.random.uniform((), 0.0, 0.03)), 0, 1)


def jpeg(image: tf.Tensor) -> tf.Tensor:
    """A JPEG round trip at quality 40-95."""
    return tf.reshape(tf.image.random_jpeg_quality(image, 40, 95), tf.shape(image))


def vignette(image: tf.Tensor) -> tf.Tensor:
    """The dark circular border a round dermatoscope leaves, at a random radius."""
    rows = tf.linspace(-1.0, 1.0, INPUT_HEIGHT)[:, None] * (INPUT_HEIGHT / INPUT_WIDTH)
    columns = tf.linspace(-1.0, 1.0, INPUT_WIDTH)[None, :]
    radius = tf.sqrt(rows**2 + columns**2)
    edge = tf.random.uniform((), 0.75, 1.05)
    mask = tf.clip_by_value((edge - radius) / 0.08, 0.0, 1.0)[:, :, None]
    return image * (0.05 + 0.95 * mask)


def photometric_fn():
    """A tf.data map function for the per-image part of ``device`` augmentation (float 0..255 in and out)."""

    def augment(image: tf.Tensor, label: tf.Tensor):
        image = colour_jitter(image / 255.0)
        image = _maybe(0.2, blur, image)
        image = _maybe(0.2, noise, image)
        image = _maybe(0.3, jpeg, image)
        image = _maybe(0.1, vignette, image)
        return tf.clip_by_value(image * 255.0, 0.0, 255.0), label

    return augment


def batch_geometry_fn(seed: int = 0):
    """A tf.data map function for the geometric part of ``device`` augmentation, on whole batches
    (each image still gets its own random transform)."""
    geometry = build_geometry(seed)

    def augment(images: tf.Tensor, labels: tf.Tensor):
        return geometry(images, training=True), labels

    return augment


def augment_fn(seed: int = 0, mode: str = "device"):
    """The per-image tf.data map function of an augmentation mode (``none`` has none: returns None)."""
    mode = AUGMENT_ALIASES.get(mode, mode)
    if mode == "none":
        return None
    if mode == "device":
        return photometric_fn()
    augmenter = build_augmenter(seed, dermoscopy=mode == "dermoscopy")

    def augment(image: tf.Tensor, label: tf.Tensor):
        image = centre_zoom(image)
        image = augmenter(image[tf.newaxis], training=True)[0]
        return tf.clip_by_value(image, 0.0, 255.0), label

    return augment
