"""The Python reference: predictions from an exported model folder, through the browser's preprocessing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from trainer.decision import averaged_photos, shown_probabilities, tiers_for
from trainer.export import MANIFEST_FILE, load_tfjs
from trainer.image_checks import flags
from trainer.models.heads import PROBABILITIES_OUTPUT
from trainer.ood import OOD_OUTPUT, is_out_of_distribution
from trainer.photo_type import PHOTO_TYPE_OUTPUT, photo_types
from trainer.preprocess import PREPROCESSING_SPEC, preprocess_file
from trainer.test_time_augmentation import decision_views, other_view_probabilities

if TYPE_CHECKING:
    from trainer.keras_backend import keras


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


class ModelOutputs(NamedTuple):
    """What an exported model computes for a batch: probabilities (N, 7), and where it has those outputs, the
    OOD score (N,) and the probability of a clinical close-up (N,)."""

    probabilities: np.ndarray
    ood_scores: np.ndarray | None
    clinical_probability: np.ndarray | None


def outputs_by_name(output_names: list[str], outputs: np.ndarray | list[np.ndarray]) -> ModelOutputs:
    """A model's batch outputs (one array, or one per output), picked out by the output layers' names."""
    named = dict(zip(output_names, outputs if isinstance(outputs, list) else [outputs]))
    extra = (named.get(name) for name in (OOD_OUTPUT, PHOTO_TYPE_OUTPUT))
    return ModelOutputs(named[PROBABILITIES_OUTPUT], *(None if value is None else value[:, 0] for value in extra))


class Judgement(NamedTuple):
    """What the page makes of a batch of photos besides the probabilities."""

    failed_checks: dict[str, np.ndarray]  # "<statistic>:<min|max>" -> per photo, the check failed
    out_of_distribution: np.ndarray | None  # per photo; None without an OOD output and threshold
    photo_types: np.ndarray | None  # per photo, "clinical" or "dermoscopic"; None without that output
    judged: np.ndarray  # per photo: no check failed and not out of distribution


def judge(inputs: np.ndarray, outputs: ModelOutputs, decision: dict) -> Judgement:
    """The photo checks, the out-of-distribution verdict and the photo type, as the page applies them."""
    ood = decision.get("ood")
    scores, clinical = outputs.ood_scores, outputs.clinical_probability
    failed = flags(inputs, decision.get("image_checks", {}))
    unusual = is_out_of_distribution(scores, ood["threshold"]) if ood and scores is not None else None
    judged = np.ones(len(inputs), dtype=bool)
    for flagged in [*failed.values(), *([] if unusual is None else [unusual])]:
        judged &= ~np.asarray(flagged, dtype=bool)
    kinds = photo_types(clinical) if clinical is not None and "photo_type" in decision else None
    return Judgement(failed, unusual, kinds, judged)


class PageView(NamedTuple):
    """A batch as the page sees it: the model's outputs, the judgement, and the probabilities it shows."""

    outputs: ModelOutputs
    judgement: Judgement
    shown: np.ndarray  # (N, 7)


def model_outputs(model: keras.Model, inputs: np.ndarray, batch_size: int = 64) -> ModelOutputs:
    """An exported ``model``'s outputs for inputs (N, 75, 100, 3)."""
    return outputs_by_name(
        model.output_names, model.predict(inputs.astype(np.float32), batch_size=batch_size, verbose=0)
    )


def page_view(model: keras.Model, inputs: np.ndarray, decision: dict) -> PageView:
    """What the page makes of float32 inputs (N, 75, 100, 3) under ``decision`` with an exported ``model``: its
    outputs for the photos, the judgement and the probabilities shown (``trainer.decision.shown_probabilities``,
    over the decision's views for the photos routed to a type it keeps them for: the model runs on those photos'
    other views alone, as the page does)."""
    outputs = model_outputs(model, inputs)
    judgement = judge(inputs, outputs, decision)
    averaged = averaged_photos(decision, judgement.photo_types)
    others = (
        other_view_probabilities(
            lambda batch: model_outputs(model, batch).probabilities, inputs, decision_views(decision), averaged
        )
        if averaged.any()
        else None
    )
    return PageView(
        outputs, judgement, shown_probabilities(outputs.probabilities, decision, judgement.photo_types, others)
    )


class ExportedModel:
    """An exported model folder loaded for inference: probabilities, and the OOD score and photo type where
    it has those outputs."""

    def __init__(self, model_dir: str | Path) -> None:
        self.manifest = read_manifest(model_dir)
        self.codes = [c["code"] for c in self.manifest["classes"]]
        self.model = load_tfjs(model_dir)
        decision = self.manifest.get("decision", {})
        for rule, output in (("ood", OOD_OUTPUT), ("photo_type", PHOTO_TYPE_OUTPUT)):
            if rule in decision and output not in self.model.output_names:
                raise ModelFolderError(f"{model_dir}: the manifest has a {rule} rule but the model no {output} output")

    def predict_outputs(self, inputs: np.ndarray, batch_size: int = 64) -> ModelOutputs:
        """The model's outputs for float32 inputs (N, 75, 100, 3)."""
        return model_outputs(self.model, inputs, batch_size)

    def page_view(self, inputs: np.ndarray, decision: dict | None = None) -> PageView:
        """:func:`page_view` under ``decision`` (default: the manifest's)."""
        decision = self.manifest.get("decision", {}) if decision is None else decision
        return page_view(self.model, inputs.astype(np.float32), decision)

    def predict_arrays(self, inputs: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """Probabilities (N, 7) for preprocessed float32 inputs (N, 75, 100, 3)."""
        return self.predict_outputs(inputs, batch_size).probabilities

    def predict_files(self, paths: list[str | Path]) -> dict[str, dict[str, float]]:
        """``{path: {code: probability}}`` of the model's probabilities output for image files, preprocessed as the
        browser does."""
        probabilities = self.predict_arrays(np.stack([preprocess_file(p) for p in paths]))
        return {str(p): dict(zip(self.codes, map(float, row))) for p, row in zip(paths, probabilities)}

    def assess_files(self, paths: list[str | Path]) -> dict[str, dict]:
        """What the page shows for each image file (the ``predict --json`` output, docs/ood.md)::

        {path: {"probabilities": {code: p}, "ood_score": s | None, "out_of_distribution": bool | None,
                "photo_type": "dermoscopic|clinical" | None, "failed_photo_checks": ["<statistic>:<min|max>", ...],
                "tier": "urgent|check|routine|not-judged"}}
        """
        outputs, judgement, shown = self.page_view(np.stack([preprocess_file(p) for p in paths]))
        unusual, kinds = judgement.out_of_distribution, judgement.photo_types
        tiers = tiers_for(outputs.probabilities, self.manifest.get("decision", {}), judgement.judged, kinds)
        results = {}
        for i, path in enumerate(paths):
            photo_type = None if kinds is None else str(kinds[i])
            results[str(path)] = {
                "probabilities": dict(zip(self.codes, map(float, shown[i]))),
                "ood_score": None if outputs.ood_scores is None else float(outputs.ood_scores[i]),
                "out_of_distribution": None if unusual is None else bool(unusual[i]),
                "photo_type": photo_type,
                "failed_photo_checks": [name for name, flagged in judgement.failed_checks.items() if flagged[i]],
                "tier": str(tiers[i]),
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
        kind = "" if result["photo_type"] is None else f"; {result['photo_type']} photo"
        lines.append(f"{path}: {result['tier']}{score}{kind}; " + ", ".join(f"{code} {p:.3f}" for code, p in ranked))
    return "\n".join(lines)
