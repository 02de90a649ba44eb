"""Training figures read from finished ``trainer build`` folders (report/metrics.json)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from benchmarks.model_files import download_bytes

# GNU `/usr/bin/time -v` output, if the build's log sits next to its folder as <folder>.log.
ELAPSED = re.compile(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)")


@dataclass
class TrainingRun:
    """One build folder's training speed and size."""

    folder: Path
    architecture: str
    images_per_second: float
    training_seconds: float
    build_seconds: float | None
    download_bytes: int
    balanced_accuracy: float


def build_seconds(folder: Path, metrics: dict) -> float | None:
    """Total build wall time: metrics.json's training.build_seconds, else the GNU time log beside it."""
    if "build_seconds" in metrics["training"]:
        return float(metrics["training"]["build_seconds"])
    log = folder.with_name(folder.name + ".log")
    match = ELAPSED.search(log.read_text(errors="replace")) if log.is_file() else None
    if match is None:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)


def read_run(folder: Path) -> TrainingRun:
    """Read one build folder (raises if it has no report yet)."""
    metrics = json.loads((folder / "report" / "metrics.json").read_text())
    return TrainingRun(
        folder=folder,
        architecture=metrics["architecture"],
        images_per_second=float(metrics["training"]["images_per_second"]),
        training_seconds=float(metrics["training"]["seconds"]),
        build_seconds=build_seconds(folder, metrics),
        download_bytes=download_bytes(folder),
        balanced_accuracy=float(metrics["test"]["balanced_accuracy"]),
    )
