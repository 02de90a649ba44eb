"""The learned out-of-distribution score: the Keras graph against a NumPy Mahalanobis reference, and its export."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.spatial.distance import mahalanobis

from trainer.export import ExportError, load_tfjs, round_like_export, save_tfjs, verify_export
from trainer.ood import (
    OOD_OUTPUT,
    feature_values,
    fit_mahalanobis,
    is_out_of_distribution,
    mahalanobis_scores,
    ood_decision,
    ood_threshold,
    with_ood_output,
)

FEATURES, CLASSES = 12, 7


def feature_model(seed: int = 0):
    """A small model that ends like every trainer model: ... -> features -> Dense 'logits' -> softmax."""
    from trainer.keras_backend import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(5,), name="image")
    features = keras.layers.Dense(FEATURES, activation="relu", name="head_dense")(inputs)
    logits = keras.layers.Dense(CLASSES, name="logits")(features)
    return keras.Model(inputs, keras.layers.Activation("softmax", name="probabilities")(logits))


def clustered_inputs(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs around one centre per class, and their labels."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).normal(0, 3, (CLASSES, 5))
    labels = rng.integers(0, CLASSES, count)
    return centres[labels] + rng.normal(0, 1, (count, 5)), labels


@pytest.fixture(scope="module")
def fitted():
    model = feature_model()
    inputs, labels = clustered_inputs(400, seed=1)
    features = feature_values(model, inputs)
    return model, features, labels, with_ood_output(model, features, labels)


def test_numpy_reference_is_the_squared_distance_to_the_nearest_class_mean():
    rng = np.random.default_rng(0)
    features, labels = rng.normal(size=(300, 4)), rng.integers(0, 3, 300)
    features[labels == 1] += 4
    fit = fit_mahalanobis(features, labels)
    probes = rng.normal(size=(20, 4)) * 3
    means = fit.class_means + fit.centre
    expected = [min(mahalanobis(p, m, fit.precision) ** 2 for m in means) for p in probes]
    assert np.allclose(mahalanobis_scores(fit, probes), expected, rtol=1e-9)
    assert np.allclose(means[1], features[labels == 1].mean(axis=0))
    assert mahalanobis_scores(fit, means).max() < 1e-9


def test_keras_graph_matches_the_numpy_reference(fitted):
    model, features, labels, two_outputs = fitted
    probes = np.concatenate([clustered_inputs(50, seed=2)[0], np.random.default_rng(3).normal(0, 15, (50, 5))])
    probabilities, scores = two_outputs.predict(probes.astype(np.float32), verbose=0)
    reference = mahalanobis_scores(fit_mahalanobis(features, labels), feature_values(model, probes))
    assert scores.shape == (100, 1)
    assert np.allclose(scores[:, 0], reference, rtol=1e-4, atol=1e-4 * reference.mean())
    assert np.allclose(probabilities, model.predict(probes.astype(np.float32), verbose=0), atol=1e-6)
    assert [t.name.split("/")[0] for t in two_outputs.outputs] == ["probabilities", OOD_OUTPUT]


def test_far_inputs_score_higher_than_training_like_inputs(fitted):
    _, _, _, two_outputs = fitted
    near = two_outputs.predict(clustered_inputs(200, seed=4)[0].astype(np.float32), verbose=0)[1]
    far = two_outputs.predict(np.random.default_rng(5).normal(0, 30, (200, 5)).astype(np.float32), verbose=0)[1]
    assert np.median(far) > 10 * np.median(near)


def test_classes_missing_from_training_are_left_out():
    model = feature_model()
    inputs, labels = clustered_inputs(300, seed=6)
    keep = labels != 3
    features = feature_values(model, inputs[keep])
    fit = fit_mahalanobis(features, labels[keep])
    assert fit.classes.tolist() == [0, 1, 2, 4, 5, 6]
    scores = with_ood_output(model, features, labels[keep]).predict(inputs.astype(np.float32), verbose=0)[1]
    reference = mahalanobis_scores(fit, feature_values(model, inputs))
    assert np.allclose(scores[:, 0], reference, rtol=1e-4, atol=1e-4 * reference.mean())


def test_bad_fitting_input_is_refused(fitted):
    _, features, labels, two_outputs = fitted
    with pytest.raises(ValueError, match="features and N labels"):
        fit_mahalanobis(features, labels[:-1])
    with pytest.raises(ValueError, match="cannot fit"):
        fit_mahalanobis(features[:2], np.array([0, 1]))
    with pytest.raises(ValueError, match="already has 2 outputs"):
        with_ood_output(two_outputs, features, labels)


def test_threshold_keeps_the_validation_false_alarm_rate_under_target():
    scores = np.random.default_rng(7).chisquare(12, 2000)
    threshold = ood_threshold(scores)
    rate = is_out_of_distribution(scores, threshold).mean()
    assert 0.015 <= rate <= 0.02
    held_out = np.concatenate([scores[:100], np.full(100, threshold * 2)])
    decision = ood_decision(threshold, scores, {"test": held_out})
    assert decision["threshold"] == threshold and decision["validation_false_alarm_rate"] == rate
    assert decision["test_false_alarm_rate"] == is_out_of_distribution(held_out, threshold).mean() >= 0.5
    assert decision["validation_images"] == 2000 and decision["output"] == OOD_OUTPUT
    with pytest.raises(ValueError, match="finite scores"):
        ood_threshold(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="false_alarm"):
        ood_threshold(scores, false_alarm=0.005)


def test_two_output_export_reloads_and_verifies(fitted, tmp_path):
    _, _, _, two_outputs = fitted
    probes = clustered_inputs(64, seed=8)[0].astype(np.float32)
    save_tfjs(two_outputs, tmp_path, "none")
    reloaded = load_tfjs(tmp_path)
    assert len(reloaded.outputs) == 2
    exported, reference = reloaded.predict(probes, verbose=0), two_outputs.predict(probes, verbose=0)
    assert verify_export(exported, reference) <= 1e-4
    broken = [exported[0], exported[1] * 1.5]
    with pytest.raises(ExportError, match="OOD score"):
        verify_export(broken, reference)


@pytest.mark.parametrize("quantization", ["float16", "uint8"])
def test_quantised_export_keeps_the_ood_layers_float32(fitted, tmp_path, quantization):
    _, _, _, two_outputs = fitted
    save_tfjs(two_outputs, tmp_path, quantization)
    weights = json.loads((tmp_path / "model.json").read_text())["weightsManifest"][0]["weights"]
    quantised = {w["name"]: w.get("quantization", {}).get("dtype") for w in weights}
    ood_weights = {name: dtype for name, dtype in quantised.items() if name.startswith("ood_")}
    layers = ("ood_whiten", "ood_class_distances", OOD_OUTPUT)
    assert ood_weights == {f"{layer}/{kind}": None for layer in layers for kind in ("kernel", "bias")}
    assert quantised["head_dense/kernel"] == ("uint8" if quantization == "uint8" else "float16")
    assert quantised["logits/kernel"] == "float16"


@pytest.mark.parametrize("quantization", ["float16", "uint8"])
def test_weights_rounded_like_the_export_give_the_exported_outputs(tmp_path, quantization):
    model = feature_model()
    probes = clustered_inputs(64, seed=9)[0].astype(np.float32)
    float_outputs = model.predict(probes, verbose=0)
    round_like_export(model, quantization)
    save_tfjs(model, tmp_path, quantization)
    exported = load_tfjs(tmp_path).predict(probes, verbose=0)
    assert np.abs(exported - model.predict(probes, verbose=0)).max() <= 1e-5 < np.abs(exported - float_outputs).max()


def test_an_efficientnet_scores_block_8s_averaged_features():
    from trainer.models.efficientnet_lite import efficientnet_lite0_classifier
    from trainer.ood import MID_LEVEL_METHOD, ood_method

    model = efficientnet_lite0_classifier(fold_bn=True)  # the export twin, as the build fits the score on it
    rng = np.random.default_rng(0)
    images, labels = rng.uniform(0, 255, (40, 75, 100, 3)), rng.integers(0, CLASSES, 40)
    features = feature_values(model, images)
    assert ood_method(model) == MID_LEVEL_METHOD and features.shape == (40, 112)
    two_outputs = with_ood_output(model, features, labels)
    scores = two_outputs.predict(images[:8].astype(np.float32), verbose=0)[1][:, 0]
    reference = mahalanobis_scores(fit_mahalanobis(features, labels), features[:8])
    assert np.allclose(scores, reference, rtol=1e-3, atol=1e-3 * reference.mean())
