"""Metrics and temperature scaling."""

import numpy as np
import pytest
from scipy.special import softmax
from sklearn.metrics import roc_auc_score

from trainer.decision import choose_thresholds
from trainer.metrics import classification_metrics, expected_calibration_error


def _fake_predictions(n=700, seed=0, sharpness=3.0):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 7
    logits = rng.normal(0, 1, (n, 7))
    logits[np.arange(n), labels] += sharpness
    return labels, logits


def test_metrics_match_definitions():
    labels, logits = _fake_predictions()
    probabilities = softmax(logits, axis=1)
    m = classification_metrics(labels, probabilities)
    predictions = probabilities.argmax(1)
    recalls = [(predictions[labels == c] == c).mean() for c in range(7)]
    assert np.isclose(m["balanced_accuracy"], np.mean(recalls))
    assert np.isclose(m["per_class"]["mel"]["recall"], recalls[4])
    assert np.isclose(m["per_class"]["nv"]["auc"], roc_auc_score(labels == 5, probabilities[:, 5]))
    tn = ((labels != 0) & (predictions != 0)).sum()
    assert np.isclose(m["per_class"]["akiec"]["specificity"], tn / (labels != 0).sum())
    assert np.array(m["confusion_matrix"]).sum() == 700 and m["n"] == 700


def test_ece_is_zero_when_confidence_equals_accuracy():
    labels = np.zeros(100, int)
    probabilities = np.tile([1.0, 0, 0, 0, 0, 0, 0], (100, 1))
    assert expected_calibration_error(labels, probabilities) == 0.0
    probabilities = np.tile([0.5, 0.5, 0, 0, 0, 0, 0], (100, 1))  # 50% confident, 100% right
    assert np.isclose(expected_calibration_error(labels, probabilities), 0.5)


def test_temperature_scaling_fixes_overconfidence_and_folds_into_the_model():
    from trainer.calibration import fit_temperature, fold_temperature, logits_model
    from trainer.keras_backend import keras
    from trainer.models.heads import softmax_output

    labels, logits = _fake_predictions(sharpness=1.5)
    overconfident = logits * 4
    temperature = fit_temperature(overconfident, labels)
    assert 2.5 < temperature < 6
    before = expected_calibration_error(labels, softmax(overconfident, axis=1))
    after = expected_calibration_error(labels, softmax(overconfident / temperature, axis=1))
    assert after < before / 2

    inputs = keras.Input((5,))
    model = keras.Model(inputs, softmax_output(keras.layers.Dense(8, activation="relu")(inputs)))
    x = np.random.default_rng(0).normal(size=(16, 5)).astype("float32")
    raw_logits = logits_model(model).predict(x, verbose=0)
    fold_temperature(model, 2.0)
    assert np.allclose(model.predict(x, verbose=0), softmax(raw_logits / 2.0, axis=1), atol=1e-6)


def test_thresholds_are_chosen_on_the_given_data():
    labels, logits = _fake_predictions(sharpness=2.0)
    decision = choose_thresholds(labels, softmax(logits, axis=1))
    assert decision["validation_accuracy_above"] >= 0.85
    assert decision["validation_urgent_sensitivity"] >= 0.9
    assert decision["urgent_classes"] == ["akiec", "bcc", "mel"]


def test_class_offsets_recover_a_shifted_decision_and_fold_into_the_bias():
    from trainer.calibration import cross_fitted_offset_gain, fit_class_offsets, fold_offsets
    from trainer.keras_backend import keras

    labels, logits = _fake_predictions(n=1400, sharpness=2.0)
    biased = logits + np.array([-1.5, 0, 0, -1.5, 0, 1.5, 0])  # a decision that over-calls class 5
    log_probabilities = np.log(softmax(biased, axis=1))
    offsets = fit_class_offsets(log_probabilities, labels)
    fixed = (log_probabilities + offsets).argmax(1)
    before = classification_metrics(labels, softmax(biased, axis=1))["balanced_accuracy"]
    after = classification_metrics(labels, softmax(log_probabilities + offsets, axis=1))["balanced_accuracy"]
    assert after > before + 0.05 and (fixed == 5).mean() < (biased.argmax(1) == 5).mean()
    assert cross_fitted_offset_gain(log_probabilities, labels) > 0.03
    assert cross_fitted_offset_gain(np.log(softmax(logits, axis=1)), labels) < 0.02  # nothing to fix

    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(7, name="logits")(inputs))
    x = np.random.default_rng(0).normal(size=(5, 3)).astype("float32")
    before_fold = model.predict(x, verbose=0)
    fold_offsets(model, offsets)
    assert np.allclose(model.predict(x, verbose=0) - before_fold, offsets, atol=1e-5)


def test_the_offset_gain_keeps_the_photos_of_one_lesion_in_one_half():
    from scipy.special import log_softmax

    from trainer.calibration import MIN_CROSS_FITTED_GAIN, cross_fitted_offset_gain

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 7, 300)
    logits = rng.normal(0, 1, (300, 7))
    logits[np.arange(300), labels] += 1.0  # an unbiased decision: offsets can only fit noise
    twins, twin_labels = np.repeat(log_softmax(logits, axis=1), 2, axis=0), np.repeat(labels, 2)
    lesions = np.repeat(np.arange(300), 2).astype(str)  # each lesion photographed twice, as in MILK10k
    grouped = cross_fitted_offset_gain(twins, twin_labels, lesions, halvings=10)
    leaky = cross_fitted_offset_gain(twins, twin_labels, halvings=10)
    assert grouped < MIN_CROSS_FITTED_GAIN and grouped < leaky - 0.02


def test_calibration_refits_the_temperature_after_the_offsets():
    from types import SimpleNamespace

    from trainer.build import calibrate
    from trainer.calibration import MIN_CROSS_FITTED_GAIN, fit_temperature
    from trainer.keras_backend import keras

    labels, logits = _fake_predictions(n=1400, sharpness=2.0)
    biased = (logits + np.array([-1.5, 0, 0, -1.5, 0, 1.5, 0])).astype(np.float32)
    inputs = keras.Input((7,))
    dense = keras.layers.Dense(7, name="logits")
    model = keras.Model(inputs, keras.layers.Activation("softmax")(dense(inputs)))
    dense.set_weights([np.eye(7), np.zeros(7)])  # the model's logits are the inputs
    part = SimpleNamespace(images=biased, labels=labels, groups=None)
    outputs = calibrate(model, SimpleNamespace(validation=part, test=part, cross_source=None))

    assert outputs.offset_gain >= MIN_CROSS_FITTED_GAIN and np.abs(outputs.class_offsets).max() > 0.5
    assert abs(outputs.temperature_after_offsets - 1.0) > 0.02
    final = np.log(outputs.validation)
    assert fit_temperature(final, labels) == pytest.approx(1.0, abs=0.01)  # nothing left to calibrate
    decided = (np.log(softmax(biased / outputs.temperature, axis=1)) + outputs.class_offsets).argmax(1)
    np.testing.assert_array_equal(outputs.validation.argmax(1), decided)  # the second temperature keeps them
