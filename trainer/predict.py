"""The Python reference: predictions from an exported model folder, through the browser's preprocessing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from trainer.decision import tier_for
from trainer.export import MANIFEST_FILE, load_tfjs
from trainer.image_checks import flags
from trainer.ood import is_out_of_distribution
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
    """An exported model folder loaded for inference: probabilities, and the OOD score where it has one."""

    def __init__(self, model_dir: str | Path) -> None:
        self.manifest = read_manifest(model_dir)
        self.codes = [c["code"] for c in self.manifest["classes"]]
        self.model = load_tfjs(model_dir)
        self.has_ood_output = len(self.model.outputs) == 2
        if "ood" in self.manifest.get("decision", {}) and not self.has_ood_output:
            raise ModelFolderError(f"{model_dir}: the manifest sets an OOD threshold but the model has no OOD output")

    def predict_outputs(self, inputs: np.ndarray, batch_size: int = 64) -> tuple[np.ndarray, np.ndarray | None]:
        """Probabilities (N, 7) and OOD scores (N,), None without an OOD output, for float32 inputs (N, 75, 100, 3)."""
        outputs = self.model.predict(inputs.astype(np.float32), batch_size=batch_size, verbose=0)
        if self.has_ood_output:
            return outputs[0], outputs[1][:, 0]
        return outputs, None

    def predict_arrays(self, inputs: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """Probabilities (N, 7) for preprocessed float32 inputs (N, 75, 100, 3)."""
        return self.predict_outputs(inputs, batch_size)[0]

    def predict_files(self, paths: list[str | Path]) -> dict[str, dict[str, float]]:
        """``{path: {code: probability}}`` for image files, preprocessed as the browser does."""
        probabilities = self.predict_arrays(np.stack([preprocess_file(p) for p in paths]))
        return {str(p): dict(zip(self.codes, map(float, row))) for p, row in zip(paths, probabilities)}

    def assess_files(self, paths: list[str | Path]) -> dict[str, dict]:
        """What the page shows for each image file (the ``predict --json`` output, docs/ood.md)::

        {path: {"probabilities": {code: p}, "ood_score": s | None, "out_of_distribution": bool | None,
                "failed_photo_checks": ["<statistic>:<min|max>", ...], "tier": "urgent|check|routine|not-judged"}}
        """
        inputs = np.stack([preprocess_file(p) for p in paths])
        probabilities, scores = self.predict_outputs(inputs)
        decision = self.manifest.get("decision", {})
        failed = flags(inputs, decision.get("image_checks", {}))
        ood = decision.get("ood")
        unusual = is_out_of_distribution(scores, ood["threshold"]) if ood and scores is not None else None
        results = {}
        for i, path in enumerate(paths):
            failed_checks = [name for name, flagged in failed.items() if flagged[i]]
            out_of_distribution = None if unusual is None else bool(unusual[i])
            judged = not failed_checks and not out_of_distribution
            results[str(path)] = {
                "probabilities": dict(zip(self.codes, map(float, probabilities[i]))),
                "ood_score": None if scores is None else float(scores[i]),
                "out_of_distribution": out_of_distribution,
                "failed_photo_checks": failed_checks,
                "tier": tier_for(probabilities[i], decision, judged),
            }
        return results


def format_assessments(results: dict[str, dict], as_json: bool) -> str:
    """``predict`` output: the JSON of :meth:`ExportedModel.assess_files`, or one line per image."""
    if as_json:
        return json.dumps(results, indent=2)
    lines = []
    for path, result in results.items():
        ranked = sorted(result["probabilities"].items(), key=lambda item: -item[1])
        score = "" if result["ood_score"] is None else f"; OOD score {result['ood_score']:.4g}"
        lines.append(f"{path}: {result['tier']}{score}; " + ", ".join(f"{code} {p:.3f}" for code, p in ranked))
    return "\n".join(lines)
