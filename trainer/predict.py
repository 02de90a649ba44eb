"""The Python reference: predictions from an exported model folder, through the browser's preprocessing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from trainer.export import MANIFEST_FILE, load_tfjs
from trainer.preprocess import PREPROCESSING_SPEC, preprocess_file


class ModelFolderError(ValueError):
    """A model folder that is missing files or was made for another preprocessing."""


def read_manifest(model_dir: str | Path) -> dict:
    """Read and sanity-check a model folder's manifest."""
    path = Path(model_dir) / MANIFEST_FILE
    if not path.is_file():
        raise ModelFolderError(f"{path} not found: is {model_dir} a model folder made by `trainer build`?")
    manifest = json.loads(path.read_text())
    if manifest.get("preprocessing", {}).get("id") != PREPROCESSING_SPEC["id"]:
        raise ModelFolderError(
            f"{path} expects preprocessing {manifest.get('preprocessing', {}).get('id')!r}, "
            f"this trainer implements {PREPROCESSING_SPEC['id']!r}"
        )
    return manifest


class ExportedModel:
    """An exported model folder loaded for inference."""

    def __init__(self, model_dir: str | Path) -> None:
        self.manifest = read_manifest(model_dir)
        self.codes = [c["code"] for c in self.manifest["classes"]]
        self.model = load_tfjs(model_dir)

    def predict_arrays(self, inputs: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """Probabilities (N, 7) for preprocessed float32 inputs (N, 75, 100, 3)."""
        return self.model.predict(inputs.astype(np.float32), batch_size=batch_size, verbose=0)

    def predict_files(self, paths: list[str | Path]) -> dict[str, dict[str, float]]:
        """``{path: {code: probability}}`` for image files, preprocessed as the browser does."""
        inputs = np.stack([preprocess_file(p) for p in paths])
        probabilities = self.predict_arrays(inputs)
        return {str(p): dict(zip(self.codes, map(float, row))) for p, row in zip(paths, probabilities)}
