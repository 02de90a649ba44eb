"""``trainer evaluate``: score any exported model folder on any labelled images."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trainer.datasets import LabelledFile, read_labelled_files, read_labels_csv
from trainer.metrics import classification_metrics, metrics_by_group
from trainer.ood import is_out_of_distribution
from trainer.predict import ExportedModel
from trainer.preprocess import preprocess_file


def evaluate_files(model: ExportedModel, files: list[LabelledFile]) -> dict:
    """Metrics of ``model`` on labelled files, decoded and preprocessed as the browser does, overall and per
    image type and skin tone; for a model with an OOD output and threshold, also the share of these lesion
    images it would not judge."""
    inputs = np.stack([preprocess_file(f.path) for f in files])
    labels = np.array([f.label for f in files])
    domains = np.array([f.domain() for f in files])
    probabilities, scores = model.predict_outputs(inputs)
    metrics = classification_metrics(labels, probabilities)
    groupings = {"image_type": domains.tolist(), "skin_tone": [f.meta.get("skin_tone", "") for f in files]}
    metrics["groups"] = metrics_by_group(labels, probabilities, groupings)
    ood = model.manifest.get("decision", {}).get("ood")
    if ood and scores is not None:
        flagged = is_out_of_distribution(scores, ood["threshold"])
        by_type = {d: float(flagged[domains == d].mean()) for d in sorted(set(domains.tolist()))}
        metrics["out_of_distribution"] = {"threshold": ood["threshold"], "rate": float(flagged.mean())} | {
            "rate_by_image_type": by_type
        }
    return metrics


def evaluate_folder(
    model_dir: Path, data: Path | None = None, images: Path | None = None, labels: Path | None = None
) -> dict:
    """Evaluate on a dataset folder (HAM10000, MILK10k or ISIC layout) or an images folder with an
    ``image_id,dx`` CSV."""
    files = read_labelled_files(data) if data is not None else read_labels_csv(labels, images)
    model = ExportedModel(model_dir)
    return {"model": str(model_dir), **evaluate_files(model, files)}
