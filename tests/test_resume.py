"""Resumable training: a build killed mid-training and rerun with ``--resume`` finishes the same epochs and exports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.browser_helpers import predict_json
from tests.conftest import REPO_ROOT
from tests.image_factory import lesion_like, write_rgb
from trainer.keras_backend import keras
from trainer.models.heads import Network, image_input, softmax_output
from trainer.progress import STATE_FILE, Progress, ResumeError
from trainer.recipe import Recipe
from trainer.train import BACKUP_FOLDER, BalancedAccuracyMonitor, train_model

EPOCHS = 6


def _progress(log_dir: Path) -> dict | None:
    path = log_dir / BACKUP_FOLDER / STATE_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def test_sigkill_mid_training_then_resume_finishes_the_same_epochs(ham_layout, tmp_path):
    out = tmp_path / "model"
    log_dir = tmp_path / ".model.logs"
    command = [sys.executable, "-m", "trainer", "build", "--data", str(ham_layout), "--out", str(out)]
    command += ["--arch", "compact-cnn", "--epochs", str(EPOCHS), "--patience", str(EPOCHS), "--quantize", "none"]
    with (tmp_path / "killed.log").open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while (state := _progress(log_dir)) is None or len(state["history"].get("loss", [])) < 2:
            assert process.poll() is None, (tmp_path / "killed.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "training never reached its second epoch"
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    done_when_killed = len(_progress(log_dir)["history"]["loss"])
    assert process.returncode == -signal.SIGKILL and done_when_killed < EPOCHS and not out.exists()

    resumed = subprocess.run([*command, "--resume"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert f"--resume: {done_when_killed} epoch(s) done" in resumed.stdout
    # A kill between the progress save and Keras's backup re-runs that one epoch; none is skipped.
    epochs_rerun = resumed.stdout.count("val_balanced_accuracy ")
    assert EPOCHS - done_when_killed <= epochs_rerun <= EPOCHS - done_when_killed + 1

    metrics = json.loads((out / "report" / "metrics.json").read_text())
    training = metrics["training"]
    assert training["epochs_run"] == EPOCHS and training["distribution"]["resumed"] is True
    assert all(len(values) == EPOCHS for values in metrics["history"].values())
    assert 1 <= training["best_epoch"] <= EPOCHS
    photo = write_rgb(tmp_path / "photo.jpg", lesion_like(150, 200))
    probabilities = predict_json(out, [photo])[str(photo)]["probabilities"]
    assert len(probabilities) == 7 and abs(sum(probabilities.values()) - 1) < 1e-4


def _tiny_network() -> Network:
    """A small model with a 'pretrained' trunk, so that training has a head-only phase."""
    inputs = image_input()
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(8, 5, strides=5, activation="relu", name="trunk")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, softmax_output(x))
    return Network(model, backbone=[model.get_layer("trunk")])


RECIPE = Recipe(arch="tiny", epochs=5, head_epochs=2, batch_size=8, augment="none", imbalance="none", patience=10)


@pytest.fixture(scope="module")
def arrays():
    rng = np.random.default_rng(0)
    labels = np.arange(56) % 7
    images = (rng.random((56, 75, 100, 3)) * 60 + labels[:, None, None, None] * 25).astype(np.uint8)
    return (images[:42], labels[:42]), (images[42:], labels[42:])


MONITOR_EPOCH_END = BalancedAccuracyMonitor.on_epoch_end


class Crash(RuntimeError):
    """Stands in for a kill at the end of an epoch, before it is backed up."""


def _train(arrays, log_dir: Path, resume: bool, crash_at: int | None = None, monkeypatch=None) -> tuple:
    """Train the tiny network; return (result or None if it crashed, epochs the monitor saw in this run)."""
    seen = []

    def counting(self, epoch, logs=None):
        MONITOR_EPOCH_END(self, epoch, logs)
        seen.append(self.epochs_seen)
        if self.epochs_seen == crash_at:
            raise Crash

    monkeypatch.setattr(BalancedAccuracyMonitor, "on_epoch_end", counting)
    network = _tiny_network()
    try:
        return train_model(network, *arrays, RECIPE, log_dir, seed=0, resume=resume), seen, network
    except Crash:
        return None, seen, network


@pytest.mark.parametrize("crash_at", [2, 3, 5], ids=["in-head-phase", "first-main-epoch", "in-main-phase"])
def test_resume_goes_on_from_the_epoch_and_phase_it_stopped_in(arrays, tmp_path, monkeypatch, crash_at):
    result, seen, _ = _train(arrays, tmp_path, resume=False, crash_at=crash_at, monkeypatch=monkeypatch)
    assert result is None and seen == list(range(1, crash_at + 1))
    result, seen, network = _train(arrays, tmp_path, resume=True, monkeypatch=monkeypatch)
    assert seen == list(range(crash_at, RECIPE.epochs + 1)), "the crashed epoch and the rest, nothing earlier"
    assert all(len(values) == RECIPE.epochs for values in result.history.values())
    assert result.distribution["resumed"] is True
    best = result.history["val_balanced_accuracy"][result.best_epoch - 1]
    assert best == pytest.approx(result.best_val_balanced_accuracy) == max(result.history["val_balanced_accuracy"])
    assert _progress(tmp_path)["phase"] == "done"

    again, seen, rebuilt = _train(arrays, tmp_path, resume=True, monkeypatch=monkeypatch)
    assert seen == [] and again.history == result.history, "a finished training is not run again"
    for a, b in zip(network.model.get_weights(), rebuilt.model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_without_resume_a_build_starts_afresh(arrays, tmp_path, monkeypatch):
    _train(arrays, tmp_path, resume=False, crash_at=3, monkeypatch=monkeypatch)
    result, seen, _ = _train(arrays, tmp_path, resume=False, monkeypatch=monkeypatch)
    assert seen == list(range(1, RECIPE.epochs + 1)) and result.distribution["resumed"] is False


def test_resume_refuses_a_backup_of_another_build(arrays, tmp_path, monkeypatch):
    _train(arrays, tmp_path, resume=False, crash_at=2, monkeypatch=monkeypatch)
    state = _progress(tmp_path)
    other = dict(state["fingerprint"], seed=1)
    with pytest.raises(ResumeError, match=r"another build \(different seed\)"):
        Progress.start(tmp_path / BACKUP_FOLDER, other, resume=True, writes=True)


def test_resume_with_nothing_to_resume_starts_from_the_beginning(arrays, tmp_path, monkeypatch):
    result, seen, _ = _train(arrays, tmp_path, resume=True, monkeypatch=monkeypatch)
    assert seen == list(range(1, RECIPE.epochs + 1)) and result.distribution["resumed"] is False
