"""Each custom Keras layer and its TF.js twin (static/js/layers.js) compute the same thing."""

from __future__ import annotations

import numpy as np
import pytest

from trainer.models.layers import CUSTOM_OBJECTS

pytestmark = pytest.mark.browser

VALUE_TOLERANCE = 1e-2  # on 0..255 pixel values; float32 pow/mean order differ between TF and TF.js


LAYER_CASES = [("AlignedResizing", {"height": 112, "width": 150}), ("ShadesOfGray", {"power": 6.0})]


def test_every_custom_layer_has_a_twin_case():
    assert set(CUSTOM_OBJECTS) == {name for name, _ in LAYER_CASES}


@pytest.mark.parametrize(("name", "config"), LAYER_CASES, ids=[name for name, _ in LAYER_CASES])
def test_the_tfjs_twin_computes_what_the_keras_layer_computes(page, name, config):
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (3, 75, 100, 3)).astype(np.float32)
    images[1] *= np.array([1.0, 0.7, 0.4], np.float32)  # a warm cast for colour constancy to remove
    images[2] = 0.0  # a black photo: no illuminant at all
    expected = CUSTOM_OBJECTS[name](**config)(images).numpy()
    computed = page.evaluate(
        """([name, config, data, shape]) => {
            const [Layer] = tf.serialization.SerializationMap.getMap().classNameMap[name];
            return tf.tidy(() => Array.from(new Layer(config).apply(tf.tensor(data, shape)).dataSync()));
        }""",
        [name, config, images.ravel().tolist(), list(images.shape)],
    )
    computed = np.array(computed, np.float32).reshape(expected.shape)
    assert np.isfinite(computed).all()
    assert np.abs(computed - expected).max() <= VALUE_TOLERANCE


def test_shades_of_gray_neutralises_a_colour_cast():
    rng = np.random.default_rng(1)
    grey_world = rng.uniform(20, 200, (1, 75, 100, 1)).repeat(3, axis=-1).astype(np.float32)
    cast = grey_world * np.array([1.0, 0.75, 0.5], np.float32)
    neutral = CUSTOM_OBJECTS["ShadesOfGray"](power=6.0)(cast).numpy()
    means = neutral.reshape(-1, 3).mean(axis=0)
    assert (
        means.max() / means.min() < 1.01 < (cast.reshape(-1, 3).mean(axis=0)[0] / cast.reshape(-1, 3).mean(axis=0)[2])
    )
