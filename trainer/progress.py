"""Resumable training: what a build's fits have done so far, kept beside Keras's own backups.

``keras.callbacks.BackupAndRestore`` restores the weights, optimizer and epoch of one ``fit``. A build
fits twice (head, then fine-tuning) and also keeps the best validation weights, the early-stopping
count and the history; :class:`Progress` keeps those in ``progress.json`` plus two weight files, so
that ``trainer build --resume`` after a kill goes on where the killed run stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from trainer.keras_backend import keras
from trainer.recipe import Recipe

STATE_FILE = "progress.json"
BEST_WEIGHTS = "best_weights.npz"  # the best validation weights so far
HEAD_WEIGHTS = "head_weights.npz"  # the weights at the end of the head-only phase
PHASES = ("head", "main", "done")


class ResumeError(ValueError):
    """The backup belongs to another build; the message says what differs."""


def fingerprint(recipe: Recipe, labels: np.ndarray, validation_images: int, seed: int, global_batch: int) -> dict:
    """What must match for a backup to be resumed: the recipe, the data, the seed and the global batch."""
    return {
        "recipe": asdict(recipe),
        "train_labels_sha256": hashlib.sha256(np.ascontiguousarray(labels, np.int64).tobytes()).hexdigest(),
        "validation_images": validation_images,
        "seed": seed,
        "global_batch": global_batch,
    }


@dataclass
class Progress:
    """The phase reached, the history so far, the best score and the early-stopping count of a build."""

    folder: Path
    fingerprint: dict
    writes: bool  # false on multi-worker workers other than the chief
    phase: str = "head"
    history: dict[str, list[float]] = field(default_factory=dict)
    best: float = -1.0
    best_epoch: int = 0
    stopping: dict | None = None  # EarlyStopping's ``wait`` and ``best`` after the last epoch
    seconds: float = 0.0  # training time over this run and the runs it resumes, at the last save
    resumed: bool = False

    def __post_init__(self) -> None:
        self._earlier_seconds, self._started = self.seconds, time.perf_counter()

    def clock(self) -> float:
        """Training seconds so far over this run and the runs it resumes."""
        return self._earlier_seconds + time.perf_counter() - self._started

    @classmethod
    def start(cls, folder: Path, fingerprint: dict, resume: bool, writes: bool) -> Progress:
        """Read the saved progress when resuming (a fresh start when there is none); else clear old backups."""
        state_file = folder / STATE_FILE
        if not resume:
            if writes and folder.exists():
                shutil.rmtree(folder)
            return cls(folder, fingerprint, writes)
        if not state_file.is_file():
            print(f"--resume: no backup in {folder}; training from the start")
            return cls(folder, fingerprint, writes)
        state = json.loads(state_file.read_text())
        if state["fingerprint"] != fingerprint:
            differing = sorted(k for k in fingerprint if state["fingerprint"].get(k) != fingerprint[k])
            raise ResumeError(
                f"--resume: the backup in {folder} is of another build (different {', '.join(differing)}); "
                "rerun with the same data and flags, or without --resume to start afresh"
            )
        progress = cls(folder, fingerprint, writes, **{k: state[k] for k in _SAVED}, resumed=True)
        print(f"--resume: {progress.epochs_done} epoch(s) done, phase {progress.phase}")
        return progress

    @property
    def epochs_done(self) -> int:
        """Epochs recorded so far, over both phases."""
        return len(self.history.get("loss", []))

    def save(self) -> None:
        """Write the state atomically (a kill leaves the previous or the new file, never half of one)."""
        if not self.writes:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        state = {"fingerprint": self.fingerprint} | {k: getattr(self, k) for k in _SAVED}
        temporary = self.folder / f"{STATE_FILE}.{os.getpid()}.tmp"
        temporary.write_text(json.dumps(state, indent=1))
        os.replace(temporary, self.folder / STATE_FILE)

    def save_weights(self, weights: list[np.ndarray], name: str) -> None:
        """Write weights (``model.get_weights()``) to ``name`` in the backup folder, atomically.

        Arrays, not ``model.save_weights``: reading a multi-worker model's batch-norm statistics is a
        collective operation, so every worker reads the weights and only the chief writes them.
        """
        if not self.writes:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        temporary = self.folder / f"{name}.{os.getpid()}.tmp"
        with temporary.open("wb") as handle:
            np.savez(handle, *weights)
        os.replace(temporary, self.folder / name)

    def load_weights(self, name: str) -> list[np.ndarray] | None:
        """The weights saved as ``name``, or None when there are none."""
        path = self.folder / name
        if not path.is_file():
            return None
        with np.load(path) as arrays:
            return [arrays[f"arr_{i}"] for i in range(len(arrays.files))]

    def enter(self, phase: str) -> None:
        """Record that training reached ``phase`` (head -> main -> done)."""
        if PHASES.index(phase) > PHASES.index(self.phase):
            self.phase = phase
            self.save()

    def backup(self, phase: str) -> keras.callbacks.BackupAndRestore:
        """Keras's per-epoch backup of weights, optimizer and epoch for one phase's fit (kept when it ends)."""
        return keras.callbacks.BackupAndRestore(str(self.folder / phase), delete_checkpoint=False)


_SAVED = ("phase", "history", "best", "best_epoch", "stopping", "seconds")


class ProgressRecorder(keras.callbacks.Callback):
    """After each epoch, records the logs, best score and weights, early-stopping count and phase in ``progress``.

    Put it after the monitor and the early stopping (it reads what they updated) and before
    ``BackupAndRestore``, so that a kill between the two saves re-runs an epoch rather than losing one.
    The phase's last epoch (or an early stop) moves ``progress`` on to ``then`` in the same save.
    """

    def __init__(self, progress: Progress, monitor, stop: keras.callbacks.EarlyStopping | None, offset: int, then: str):
        super().__init__()
        self.progress, self.monitor, self.stop, self.offset, self.then = progress, monitor, stop, offset, then
        self.first_epoch: int | None = None

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self.first_epoch is None:  # drop what a killed run recorded after its last backup
            self.first_epoch = epoch
            done = self.offset + epoch
            self.progress.history = {k: v[:done] for k, v in self.progress.history.items()}

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        progress = self.progress
        for key, value in (logs or {}).items():
            progress.history.setdefault(key, []).append(float(value))
        if self.monitor.best_epoch == self.offset + epoch + 1:
            progress.save_weights(self.monitor.best_weights, BEST_WEIGHTS)
        progress.best, progress.best_epoch = self.monitor.best, self.monitor.best_epoch
        progress.seconds = progress.clock()
        if self.stop is not None:
            progress.stopping = {"wait": int(self.stop.wait), "best": float(self.stop.best)}
        if epoch + 1 == self.params["epochs"] or self.model.stop_training:
            if self.then == "main":
                progress.save_weights(self.model.get_weights(), HEAD_WEIGHTS)
            progress.phase = self.then
        progress.save()


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """EarlyStopping that starts from an interrupted run's ``wait`` count and best score."""

    def __init__(self, resumed: dict | None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.resumed = resumed

    def on_train_begin(self, logs: dict | None = None) -> None:
        super().on_train_begin(logs)
        if self.resumed:
            self.wait, self.best = self.resumed["wait"], self.resumed["best"]
