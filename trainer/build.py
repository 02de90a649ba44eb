"""``trainer build``: load, split, train, calibrate, evaluate, export and publish a model folder."""

from __future__ import annotations

import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from trainer.calibration import fit_temperature, fold_temperature, logits_model
from trainer.datasets import LabelledImages, load_dataset
from trainer.decision import choose_thresholds
from trainer.export import (
    MANIFEST_FILE,
    build_manifest,
    export_atomically,
    load_tfjs,
    save_tfjs,
    verify_export,
    write_json,
)
from trainer.image_checks import image_check_thresholds
from trainer.keras_backend import keras
from trainer.metrics import classification_metrics, expected_calibration_error
from trainer.models import build_model, inference_model
from trainer.recipe import Recipe, recipe_for
from trainer.report import (
    plot_confusion_matrix,
    plot_reliability,
    plot_roc_curves,
    plot_training_curves,
    render_html,
)
from trainer.splits import Split, make_split
from trainer.train import train_model

REPORT_FOLDER = "report"


@dataclass
class BuildOptions:
    """Everything ``trainer build`` can be told."""

    data: Path
    out: Path
    arch: str = "efficientnet-lite0"
    epochs: int | None = None
    limit: int | None = None
    max_per_class: int | None = None
    split: str = "grouped"
    seed: int = 0
    seed_config: bool = False
    imbalance: str | None = None
    learning_rate: float | None = None
    train_batch_norm: bool = False
    patience: int | None = None
    augment: str | None = None
    quantization: str = "uint8"


def cap_per_class(data: LabelledImages, cap: int | None, seed: int) -> LabelledImages:
    """Keep at most ``cap`` random images per class (the seed's 142-per-class data scale)."""
    if cap is None:
        return data
    rng = np.random.default_rng(seed)
    keep = np.sort(
        np.concatenate([rng.permutation(np.flatnonzero(data.labels == c))[:cap] for c in np.unique(data.labels)])
    )
    return LabelledImages(
        data.images[keep],
        data.labels[keep],
        [data.image_ids[i] for i in keep],
        [data.groups[i] for i in keep] if data.groups else None,
        f"{data.source}, capped at {cap} per class",
    )


def seed_validation_split(split: Split) -> Split:
    """The seed's ``fit(validation_split=0.4)``: the last 40% of the (shuffled) training part validates."""
    train = np.random.default_rng(split.seed).permutation(split.train)  # the seed's came shuffled from its split
    cut = round(len(train) * 0.6)
    return Split(
        train[:cut],
        train[cut:],
        split.test,
        split.kind,
        split.seed,
        split.note + "; validation = last 40% of train, as Keras validation_split=0.4",
    )


def _predict(model: keras.Model, images: np.ndarray) -> np.ndarray:
    return model.predict(images.astype(np.float32), batch_size=64, verbose=0)


def build(options: BuildOptions) -> dict:
    """Run the whole build and return the metrics written to the report."""
    started = time.monotonic()
    data = cap_per_class(load_dataset(options.data, options.limit, options.seed), options.max_per_class, options.seed)
    print(f"loaded {len(data)} images from {data.source}: {data.class_counts()}")
    split = make_split(options.split, data.labels, data.groups, options.seed)
    if options.seed_config:
        split = seed_validation_split(split)
    recipe: Recipe = recipe_for(options.arch, options.epochs, options.seed_config)
    if options.imbalance:
        recipe.imbalance = options.imbalance
    if options.learning_rate:
        recipe.learning_rate = options.learning_rate
    if options.patience:
        recipe.patience = options.patience
    recipe.train_batch_norm = options.train_batch_norm
    if options.augment:
        recipe.augment = options.augment
    print(f"split ({split.kind}): train {len(split.train)}, validation {len(split.validation)}, test {len(split.test)}")

    model = build_model(options.arch)
    log_dir = Path(options.out).resolve().parent / f".{Path(options.out).name}.logs"
    part = {
        name: (data.images[idx], data.labels[idx])
        for name, idx in (("train", split.train), ("validation", split.validation), ("test", split.test))
    }
    result = train_model(model, part["train"], part["validation"], recipe, log_dir, options.seed)
    model.save(log_dir / "trained_model.h5")  # kept beside the output, for re-export and inspection

    val_logits = logits_model(model).predict(part["validation"][0].astype(np.float32), verbose=0)
    test_before = _predict(model, part["test"][0])
    temperature = fit_temperature(val_logits, part["validation"][1])
    fold_temperature(model, temperature)
    val_probabilities, test_probabilities = _predict(model, part["validation"][0]), _predict(model, part["test"][0])
    test_labels = part["test"][1]
    metrics = {
        "architecture": options.arch,
        "test": classification_metrics(test_labels, test_probabilities),
        "validation": classification_metrics(part["validation"][1], val_probabilities),
        "calibration": {
            "temperature": temperature,
            "test_ece_before": expected_calibration_error(test_labels, test_before),
            "test_ece_after": expected_calibration_error(test_labels, test_probabilities),
        },
        "split": split.summary(data.labels),
        "training": {
            "recipe": asdict(recipe),
            "seconds": result.seconds,
            "images_per_second": result.images_per_second,
            "best_epoch": result.best_epoch,
            "best_val_balanced_accuracy_before_calibration": result.best_val_balanced_accuracy,
            "epochs_run": len(result.history.get("loss", [])),
            "machine": f"{platform.machine()}, {_cpu_count()} CPU cores",
        },
        "history": result.history,
    }
    decision = choose_thresholds(part["validation"][1], val_probabilities)
    decision["image_checks"] = image_check_thresholds(part["validation"][0])

    def write(folder: Path) -> None:
        save_tfjs(inference_model(model), folder, options.quantization)
        exported_probabilities = _predict(load_tfjs(folder), part["test"][0])
        metrics["export"] = {
            "quantization": options.quantization,
            "max_abs_probability_difference": verify_export(
                exported_probabilities, test_probabilities, options.quantization
            ),
            "test_keras_float32": _headline(metrics["test"]),
        }
        metrics["test"] = classification_metrics(test_labels, exported_probabilities)
        metrics["export"]["test_exported"] = _headline(metrics["test"])
        metrics["training"]["build_seconds"] = time.monotonic() - started
        report = folder / REPORT_FOLDER
        report.mkdir()
        plot_training_curves(result.history, report / "training_curves.png")
        plot_confusion_matrix(test_labels, exported_probabilities, report / "confusion_matrix.png")
        plot_roc_curves(test_labels, exported_probabilities, report / "roc_curves.png")
        plot_reliability(test_labels, test_before, exported_probabilities, report / "reliability.png")
        write_json(report / "metrics.json", metrics)
        render_html(metrics, report / "report.html")
        model_info = {
            "architecture": options.arch,
            "input_shape": list(model.input_shape[1:]),
            "output": "softmax probabilities in class order, temperature-calibrated",
            "parameters": int(model.count_params()),
            "quantization": options.quantization,
        }
        extra = {
            "training_data": {
                "source": data.source,
                "images": len(data),
                "class_counts": data.class_counts(),
                "split": split.summary(data.labels),
            },
            "metrics": {
                "test": {k: v for k, v in metrics["test"].items() if k != "confusion_matrix"},
                "calibration": metrics["calibration"],
            },
            "decision": decision,
        }
        write_json(folder / MANIFEST_FILE, build_manifest(folder, model_info, extra))

    export_atomically(Path(options.out), write)
    return metrics


def _headline(metrics: dict) -> dict:
    keys = ("accuracy", "balanced_accuracy", "macro_auc", "ece")
    return {k: metrics[k] for k in keys} | {"mel_recall": metrics["per_class"]["mel"]["recall"]}


def _cpu_count() -> int:
    import os

    return os.cpu_count() or 1
