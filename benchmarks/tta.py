"""Test-time augmentation, measured on validation: does averaging the probabilities of flipped copies
pay for the extra model runs? Scored on the validation part of the split the model was built with
(recomputed from the same data and seed), never on its test part.

    python -m benchmarks.tta --model model_artifacts --data HAM10000 \
        --data MILK10k [--json tta.json]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.output import command_parser, emit, model_split
from trainer.metrics import classification_metrics, metrics_by_group
from trainer.predict import ExportedModel

# Each set of views: the copies whose probabilities are averaged (axis 1 flips rows, axis 2 columns).
VIEW_SETS: dict[str, tuple[tuple[int, ...], ...]] = {
    "none": ((),),
    "horizontal flip": ((), (2,)),
    "four flips": ((), (1,), (2,), (1, 2)),
}


def averaged_probabilities(model: ExportedModel, images: np.ndarray, views: tuple[tuple[int, ...], ...]) -> np.ndarray:
    """Mean probabilities over the flipped copies of ``images`` (N, 75, 100, 3)."""
    inputs = images.astype(np.float32)
    return np.mean([model.predict_arrays(np.flip(inputs, axis) if axis else inputs) for axis in views], axis=0)


def measure(model_dir: Path, data: list[Path]) -> dict:
    """Validation balanced accuracy and macro AUC, overall and per image type, for each view set."""
    model = ExportedModel(model_dir)
    validation = model_split(model, data).validation
    results = {}
    for name, views in VIEW_SETS.items():
        probabilities = averaged_probabilities(model, validation.images, views)
        overall = classification_metrics(validation.labels, probabilities)
        groups = metrics_by_group(validation.labels, probabilities, {"image_type": validation.domains()})
        results[name] = {
            "model_runs": len(views),
            "balanced_accuracy": overall["balanced_accuracy"],
            "macro_auc": overall["macro_auc"],
            "by_image_type": {
                kind: {"balanced_accuracy": m["balanced_accuracy"], "macro_auc": m["macro_auc"]}
                for kind, m in groups["image_type"].items()
            },
        }
    return results


def markdown(results: dict) -> str:
    """One row per view set: balanced accuracy / macro AUC, overall and per image type."""
    kinds = sorted({kind for r in results.values() for kind in r["by_image_type"]})
    header = "| views | model runs | validation | " + " | ".join(kinds) + " |"
    rows = [header, "|" + "---|" * (3 + len(kinds))]
    for name, r in results.items():
        cells = [_pair(r), *(_pair(r["by_image_type"][kind]) for kind in kinds)]
        rows.append(f"| {name} | {r['model_runs']} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _pair(metrics: dict) -> str:
    return f"{metrics['balanced_accuracy']:.3f} / {metrics['macro_auc']:.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = command_parser("python -m benchmarks.tta", __doc__)
    parser.add_argument("--data", type=Path, action="append", required=True, help="the build's --data folders")
    args = parser.parse_args(argv)
    results = measure(args.model, args.data)
    return emit(results, args.json_out, markdown(results))


if __name__ == "__main__":
    raise SystemExit(main())
