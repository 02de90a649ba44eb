"""Intervals over lesions: the resampled metrics are the ordinary ones on reweighted images, both photos of a
lesion move together, intervals narrow with more lesions, and paired differences tell a better model from
the same model."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from scipy.special import softmax
from sklearn.metrics import roc_auc_score

from benchmarks.intervals import main as intervals_main
from trainer.info import NUM_CLASSES
from trainer.intervals import (
    bootstrap_intervals,
    paired_differences,
    resample_weights,
    resampled_scores,
    weighted_auc,
)
from trainer.metrics import classification_metrics


def predictions(n: int, signal: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels of every class and probabilities that favour the true class by ``signal``, rounded so that
    scores tie."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % NUM_CLASSES
    logits = rng.normal(size=(n, NUM_CLASSES))
    logits[np.arange(n), labels] += signal
    probabilities = np.round(softmax(logits, axis=1), 2) + 1e-6
    return labels, probabilities / probabilities.sum(axis=1, keepdims=True)


def test_the_weighted_auc_is_sklearns_with_sample_weights_ties_included():
    labels, probabilities = predictions(600, 1.0)
    weights = np.random.default_rng(1).integers(0, 4, size=(3, 600)).astype(float)
    for row in weights:
        expected = roc_auc_score(labels == 2, probabilities[:, 2], sample_weight=row)
        assert weighted_auc(row[None], labels == 2, probabilities[:, 2])[0] == pytest.approx(expected, abs=1e-12)


def test_whole_number_weights_score_like_repeated_images():
    labels, probabilities = predictions(500, 1.2)
    weights = np.random.default_rng(2).integers(0, 3, size=(1, 500)).astype(float)
    repeated = np.repeat(np.arange(500), weights[0].astype(int))
    expected = classification_metrics(labels[repeated], probabilities[repeated])
    scores = resampled_scores(weights, labels, probabilities)
    assert scores["balanced_accuracy"][0] == pytest.approx(expected["balanced_accuracy"])
    assert scores["macro_auc"][0] == pytest.approx(expected["macro_auc"])
    assert scores["recall"][0, 4] == pytest.approx(expected["per_class"]["mel"]["recall"])


def test_both_photos_of_a_lesion_move_together_and_each_class_keeps_its_lesion_count():
    labels = np.repeat(np.arange(NUM_CLASSES), 20)  # 140 images, 70 lesions of two photos each
    lesions = [f"lesion-{i // 2}" for i in range(len(labels))]
    for weights in resample_weights(labels, lesions, resamples=300):
        assert np.array_equal(weights[:, 0::2], weights[:, 1::2])
        for c in range(NUM_CLASSES):
            assert np.all(weights[:, labels == c].sum(axis=1) == 2 * 10)
        assert weights.std(axis=0).min() > 0  # every lesion is sometimes left out or drawn twice


def test_intervals_hold_the_estimate_and_narrow_with_more_lesions():
    small = bootstrap_intervals(*predictions(210, 1.0))
    large = bootstrap_intervals(*predictions(2100, 1.0))
    point = classification_metrics(*predictions(2100, 1.0))
    for key in ("balanced_accuracy", "macro_auc"):
        low, high = large[key]
        assert low <= point[key] <= high
        assert high - low < (small[key][1] - small[key][0]) / 2
    assert "ece" not in large  # biased under resampling: no interval (trainer/intervals.py)
    assert large["recall"]["mel"][0] <= point["per_class"]["mel"]["recall"] <= large["recall"]["mel"][1]
    assert bootstrap_intervals(*predictions(210, 1.0)) == small  # a fixed seed: the report is reproducible


def test_paired_differences_tell_a_better_model_from_the_same_one():
    labels, weak = predictions(1400, 0.5, seed=3)
    _, strong = predictions(1400, 2.0, seed=3)
    same = paired_differences(labels, weak, weak)
    assert same["balanced_accuracy"]["difference"] == 0 and same["balanced_accuracy"]["interval"] == [0.0, 0.0]
    better = paired_differences(labels, weak, strong)
    low, high = better["balanced_accuracy"]["interval"]
    assert 0 < low <= better["balanced_accuracy"]["difference"] <= high
    assert better["balanced_accuracy"]["share_candidate_better"] == 1.0
    assert better["macro_auc"]["interval"][0] > 0


def test_a_built_model_reports_intervals_in_its_metrics_and_card(tiny_model):
    metrics = json.loads((tiny_model / "report" / "metrics.json").read_text())
    for part in ("test", "validation"):
        low, high = metrics[part]["intervals"]["balanced_accuracy"]
        assert low <= metrics[part]["balanced_accuracy"] <= high
    card = (tiny_model / "model-card.md").read_text()
    low, high = metrics["test"]["intervals"]["macro_auc"]
    assert f"{metrics['test']['macro_auc']:.3f} ({low:.2f}-{high:.2f})" in card
    assert "intervals from 1000 bootstrap resamples" in card


def test_the_benchmark_pairs_two_models_only_on_the_same_split(tiny_model, ham_layout, tmp_path):
    out = tmp_path / "intervals.json"
    args = ["--model", str(tiny_model), "--data", str(ham_layout), "--against", str(tiny_model)]
    assert intervals_main([*args, "--json", str(out)]) == 0
    everything = json.loads(out.read_text())["groups"]["all images"]
    assert everything["difference"]["balanced_accuracy"]["interval"] == [0.0, 0.0]
    low, high = everything["model"]["intervals"]["balanced_accuracy"]
    assert low <= everything["model"]["balanced_accuracy"] <= high

    other = tmp_path / "other-split"
    shutil.copytree(tiny_model, other)
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["training_data"]["split"]["seed"] += 1
    (other / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SystemExit) as stopped:
        intervals_main([*args[:4], "--against", str(other)])
    assert stopped.value.code == 2
