"""Augmentation: the seed's centre zoom done right, and the on-the-fly pipeline."""

import numpy as np
import pytest

from trainer.augment import CENTRE_ZOOM_KEEP, augment_fn, centre_zoom
from trainer.keras_backend import tf


def _coordinate_image() -> np.ndarray:
    """Red encodes the column, green the row: a zoom's geometry can be read back from the pixels."""
    rows, cols = np.mgrid[0:75, 0:100].astype(np.float32)
    return np.dstack([cols * 2.55, rows * 3.4, np.zeros_like(rows)])


def test_centre_zoom_keeps_the_centre_and_two_thirds_of_the_view():
    image = _coordinate_image()
    zoomed = centre_zoom(tf.constant(image), probability=1.0).numpy()
    assert zoomed.shape == (75, 100, 3)
    assert abs(zoomed[37, 50, 0] - image[37, 50, 0]) < 2 and abs(zoomed[37, 50, 1] - image[37, 50, 1]) < 2
    shown_cols = (zoomed[37, -1, 0] - zoomed[37, 0, 0]) / 2.55 + 1
    assert abs(shown_cols / 100 - CENTRE_ZOOM_KEEP) < 0.03
    left_margin = zoomed[37, 0, 0] / 2.55
    right_margin = 99 - zoomed[37, -1, 0] / 2.55
    assert abs(left_margin - right_margin) < 1.5  # centred, not the seed's off-centre crop


def test_centre_zoom_never_applied_at_probability_zero():
    image = tf.constant(_coordinate_image())
    assert np.array_equal(centre_zoom(image, probability=0.0).numpy(), image.numpy())


def test_augmentation_keeps_shape_range_and_label():
    augment = augment_fn(seed=0)
    image = tf.constant(np.random.default_rng(0).uniform(0, 255, (75, 100, 3)).astype("float32"))
    outputs = [augment(image, tf.constant(4)) for _ in range(8)]
    for out, label in outputs:
        assert out.shape == (75, 100, 3) and int(label) == 4
        assert float(tf.reduce_min(out)) >= 0 and float(tf.reduce_max(out)) <= 255
    assert any(not np.allclose(out.numpy(), image.numpy()) for out, _ in outputs)


@pytest.mark.parametrize("mode", ["device", "dermoscopy", "baseline", "seed"])
def test_every_mode_keeps_shape_range_and_label(mode):
    from trainer.augment import batch_geometry_fn

    image = tf.constant(np.random.default_rng(1).uniform(0, 255, (75, 100, 3)).astype("float32"))
    out, label = augment_fn(seed=0, mode=mode)(image, tf.constant(2))
    if mode == "device":
        out, _ = batch_geometry_fn(seed=0)(out[tf.newaxis], tf.constant([2]))
        out = out[0]
    assert out.shape == (75, 100, 3) and int(label) == 2
    assert float(tf.reduce_min(out)) >= 0 and float(tf.reduce_max(out)) <= 255
    assert augment_fn(mode="none") is None


def test_vignette_darkens_the_corners_and_keeps_the_centre():
    from trainer.augment import vignette

    out = vignette(tf.ones((75, 100, 3))).numpy()
    assert out[37, 50].min() == pytest.approx(1.0) and out[0, 0].max() < 0.1


def test_device_geometry_rotates_and_rescales_each_image_of_a_batch_differently():
    from trainer.augment import batch_geometry_fn

    batch = tf.constant(np.repeat(_coordinate_image()[None], 4, axis=0))
    out, _ = batch_geometry_fn(seed=3)(batch, tf.zeros(4))
    assert out.shape == (4, 75, 100, 3)
    assert not np.allclose(out[0].numpy(), out[1].numpy())
