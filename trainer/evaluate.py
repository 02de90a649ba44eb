"""``trainer evaluate``: score any exported model folder on any labelled images."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trainer.datasets import LabelledFile, read_labelled_files, read_labels_csv
from trainer.decision import advice_rates
from trainer.intervals import scored, scored_by_group
from trainer.metrics import masks_by_value
from trainer.photo_type import PHOTO_TYPES
from trainer.predict import ExportedModel, Judgement
from trainer.preprocess import preprocess_file


def evaluate_files(model: ExportedModel, files: list[LabelledFile]) -> dict:
    """Metrics of the probabilities the page shows (``trainer.decision.shown_probabilities``) for ``model`` on
    labelled files, decoded and preprocessed as the browser does, overall and per
    image type and skin tone, with 95% intervals over lesions (an image without a lesion id is its own); with
    the page's decision rules, what its advice does per image type; for a model with an OOD output and
    threshold, the share of these lesion images it would not judge; for one with a photo-type output, which
    type it says per image type."""
    inputs = np.stack([preprocess_file(f.path) for f in files])
    labels = np.array([f.label for f in files])
    domains = np.array([f.domain() for f in files])
    outputs, judgement, shown = model.page_view(inputs)
    decision = model.manifest.get("decision", {})
    lesions = [f.group or f.image_id for f in files]
    metrics = scored(labels, shown, lesions)
    groupings = {"image_type": domains.tolist(), "skin_tone": [f.meta.get("skin_tone", "") for f in files]}
    metrics["groups"] = scored_by_group(labels, shown, groupings, lesions)
    by_type = masks_by_value(domains)
    if "urgent_classes" in decision:
        metrics["advice"] = advice_by_image_type(labels, outputs.probabilities, decision, judgement, domains)
    if judgement.out_of_distribution is not None:
        flagged = judgement.out_of_distribution
        metrics["out_of_distribution"] = {
            "threshold": decision["ood"]["threshold"],
            "rate": float(flagged.mean()),
            "rate_by_image_type": {d: float(flagged[members].mean()) for d, members in by_type.items()},
        }
    if judgement.photo_types is not None:
        said = judgement.photo_types
        metrics["photo_type_said"] = {
            d: {kind: float((said[members] == kind).mean()) for kind in PHOTO_TYPES} for d, members in by_type.items()
        }
    return metrics


def advice_by_image_type(
    labels: np.ndarray, probabilities: np.ndarray, decision: dict, judgement: Judgement, domains: np.ndarray
) -> dict:
    """:func:`trainer.decision.advice_rates` of the page's advice, over all photos and per image type."""

    def rates(members: np.ndarray) -> dict:
        kinds = None if judgement.photo_types is None else judgement.photo_types[members]
        return advice_rates(labels[members], probabilities[members], decision, judgement.judged[members], kinds)

    everything = np.ones(len(labels), dtype=bool)
    return {"all": rates(everything)} | {d: rates(members) for d, members in masks_by_value(domains).items()}


def evaluate_folder(
    model_dir: Path, data: Path | None = None, images: Path | None = None, labels: Path | None = None
) -> dict:
    """Evaluate on a dataset folder (HAM10000, MILK10k or ISIC layout) or an images folder with an
    ``image_id,dx`` CSV."""
    files = read_labelled_files(data) if data is not None else read_labels_csv(labels, images)
    model = ExportedModel(model_dir)
    return {"model": str(model_dir), **evaluate_files(model, files)}
