"""The photo-type output: a logistic regression on pooled features, appended to the model as one sigmoid unit."""

from __future__ import annotations

import numpy as np
import pytest

from trainer.keras_backend import keras
from trainer.photo_type import (
    PHOTO_TYPE_OUTPUT,
    can_learn_photo_type,
    fit_photo_type,
    is_clinical,
    photo_type_decision,
    photo_type_features,
    photo_types,
    with_photo_type_output,
)


def pooled_model() -> keras.Model:
    """A small model shaped like ours: image -> conv -> ``pool`` -> ``logits`` -> ``probabilities``."""
    inputs = keras.Input((75, 100, 3), name="image")
    x = keras.layers.Conv2D(8, 5, strides=4, activation="relu")(keras.layers.Rescaling(1 / 255)(inputs))
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    logits = keras.layers.Dense(7, name="logits")(keras.layers.Dense(4, name="head")(x))
    return keras.Model(inputs, keras.layers.Activation("softmax", name="probabilities")(logits))


def two_kinds_of_photo(count: int = 80, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Images whose kind shows in their colour: reddish 'clinical' ones and bluish 'dermoscopic' ones."""
    rng = np.random.default_rng(seed)
    clinical = np.arange(count) % 2 == 1
    images = rng.uniform(40, 200, (count, 75, 100, 3)).astype(np.float32)
    images[clinical, :, :, 0] += 50
    images[~clinical, :, :, 2] += 50
    return images, clinical


def test_the_output_is_the_regression_folded_into_one_sigmoid_unit():
    model = pooled_model()
    images, clinical = two_kinds_of_photo()
    features = keras.Model(model.inputs, photo_type_features(model)).predict(images, verbose=0)
    kernel, bias = fit_photo_type(features, clinical)
    with_type = with_photo_type_output(model, kernel, bias)
    assert with_type.output_names == ["probabilities", PHOTO_TYPE_OUTPUT]
    probabilities, clinical_probability = with_type.predict(images, verbose=0)
    np.testing.assert_allclose(probabilities, model.predict(images, verbose=0), atol=1e-6)
    expected = 1 / (1 + np.exp(-(features @ kernel[:, 0] + bias)))
    np.testing.assert_allclose(clinical_probability[:, 0], expected, atol=1e-5)

    held_out, held_out_clinical = two_kinds_of_photo(seed=1)
    said = with_type.predict(held_out, verbose=0)[1]
    assert (photo_types(said) == np.where(held_out_clinical, "clinical", "dermoscopic")).mean() >= 0.95
    decision = photo_type_decision(said, held_out_clinical)
    assert decision["output"] == PHOTO_TYPE_OUTPUT and decision["validation"]["balanced_accuracy"] >= 0.95


def test_a_model_without_a_pool_layer_reads_the_logits_input():
    inputs = keras.Input((75, 100, 3))
    hidden = keras.layers.Dense(5, name="hidden")(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, keras.layers.Dense(7, name="logits")(hidden))
    assert photo_type_features(model) is model.get_layer("logits").input


@pytest.mark.parametrize(
    ("types", "learnable"),
    [
        (["clinical"] * 20 + ["dermoscopic"] * 20, True),
        (["clinical"] * 19 + ["dermoscopic"] * 200, False),
        (["dermoscopic"] * 200, False),
        (None, False),
    ],
)
def test_a_photo_type_is_learnt_only_from_enough_photos_of_each_type(types, learnable):
    assert can_learn_photo_type(types) == learnable


def test_photo_types_split_at_one_half():
    assert photo_types(np.array([[0.0], [0.4999], [0.5], [1.0]])).tolist() == [
        "dermoscopic",
        "dermoscopic",
        "clinical",
        "clinical",
    ]
    assert is_clinical(["clinical", "dermoscopic", "overview"]).tolist() == [True, False, False]
