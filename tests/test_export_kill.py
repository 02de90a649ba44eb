"""`trainer build` publishes atomically: a SIGKILL in the middle of the export leaves the previous
model folder byte-identical and usable (the half-written staging folder is left behind)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from tests.browser_helpers import predict_json
from tests.conftest import REPO_ROOT
from tests.image_factory import lesion_like, write_rgb


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def wait_for_export(parent: Path, name: str, process: subprocess.Popen, timeout_s: float = 300) -> Path:
    """The staging folder of ``name`` as soon as the export has written a file into it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for staging in parent.glob(f".{name}.staging-*"):
            if any(staging.iterdir()):
                return staging
        assert process.poll() is None, f"build ended (status {process.returncode}) before it was caught exporting"
        time.sleep(0.01)
    raise TimeoutError("the build never started exporting")


def test_sigkill_during_export_keeps_the_previous_model(tiny_model, ham_layout, tmp_path):
    out = shutil.copytree(tiny_model, tmp_path / "model")
    before = snapshot(out)
    command = [sys.executable, "-m", "trainer", "build", "--data", str(ham_layout), "--out", str(out)]
    # Another seed and quantisation than the tiny model's: the new export differs byte for byte.
    command += ["--arch", "compact-cnn", "--epochs", "1", "--seed", "1", "--quantize", "uint8"]
    log = tmp_path / "build.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=handle, stderr=subprocess.STDOUT)
    try:
        staging = wait_for_export(tmp_path, "model", process)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == -signal.SIGKILL, log.read_text()
    assert staging.is_dir(), "the kill should have caught the export half-way"
    print("left behind:", sorted(p.name for p in staging.iterdir()))

    assert snapshot(out) == before, "the previous model folder changed"
    photo = write_rgb(tmp_path / "photo.jpg", lesion_like(150, 200))
    probabilities = predict_json(out, [photo])[str(photo)]["probabilities"]
    assert len(probabilities) == 7 and abs(sum(probabilities.values()) - 1) < 1e-4

    from trainer.predict import ExportedModel

    reference = ExportedModel(tiny_model).predict_files([photo])[str(photo)]
    assert np.allclose([probabilities[c] for c in reference], list(reference.values()), atol=1e-6)
