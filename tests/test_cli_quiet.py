"""The CLI shows only its own output: no TensorFlow logs, CUDA probing or library banners on success."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO_ROOT
from tests.image_factory import lesion_like, write_rgb


def _predict(tiny_model, image, *flags: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "trainer", *flags, "predict", "--model", str(tiny_model), "--json", str(image)]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=True)


def test_predict_json_prints_only_json_and_nothing_on_stderr(tiny_model, tmp_path):
    image = write_rgb(tmp_path / "spot.jpg", lesion_like(150, 200, 1))
    result = _predict(tiny_model, image)
    assert result.stderr == ""
    assert str(image) in json.loads(result.stdout)


def test_verbose_lets_tensorflow_speak(tiny_model, tmp_path):
    image = write_rgb(tmp_path / "spot.jpg", lesion_like(150, 200, 1))
    result = _predict(tiny_model, image, "--verbose")
    assert str(image) in json.loads(result.stdout)
    assert result.stderr != ""
