"""Test-time augmentation, measured on validation: what the mean of the probabilities shown for flipped copies of
each photo does, per image type and per photo type the model routes photos to (the choice every build makes per
routed type, ``trainer.test_time_augmentation``, is among these figures). Scored on the validation part of the
split the model was built with (recomputed from the same data and seed), never on its test part.

    python -m benchmarks.tta --model model_artifacts --data HAM10000 \
        --data MILK10k [--json tta.json]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.output import command_parser, emit, model_split
from trainer.decision import shown_probabilities
from trainer.metrics import classification_metrics, metrics_by_group
from trainer.predict import ExportedModel
from trainer.test_time_augmentation import VIEWS, other_view_probabilities

FOUR_FLIPS = (*VIEWS, {"name": "upside down", "flip_axes": [1]}, {"name": "turned 180 degrees", "flip_axes": [1, 2]})
VIEW_SETS: dict[str, tuple[dict, ...]] = {
    "one view": VIEWS[:1],
    "the photo and its mirror image": VIEWS,
    "four flips": FOUR_FLIPS,
}
ALL_PHOTOS = "all photos"  # the routed type of every photo for a model without a photo-type output


def measure(model_dir: Path, data: list[Path]) -> dict:
    """Validation balanced accuracy and macro AUC, overall, per image type and per routed photo type, for each
    view set averaged on every photo (the manifest's other rules as they are)."""
    model = ExportedModel(model_dir)
    validation = model_split(model, data).validation
    inputs = validation.images.astype(np.float32)
    decision = {k: v for k, v in model.manifest.get("decision", {}).items() if k != "test_time_augmentation"}
    photo = model.page_view(inputs, decision)
    routed = photo.judgement.photo_types
    kinds = np.full(len(inputs), ALL_PHOTOS) if routed is None else np.asarray(routed)
    groupings = {"image type": validation.domains(), "routed photo type": kinds.tolist()}
    results = {}
    for name, views in VIEW_SETS.items():
        others = other_view_probabilities(model.predict_arrays, inputs, views[1:])
        averaged = {"views": list(views), "photo_types": dict.fromkeys(np.unique(kinds).tolist())}
        probabilities = shown_probabilities(
            photo.outputs.probabilities, decision | {"test_time_augmentation": averaged}, kinds, others
        )
        groups = metrics_by_group(validation.labels, probabilities, groupings)
        results[name] = {
            "model_runs": len(views),
            "all": _figures(classification_metrics(validation.labels, probabilities)),
            **{grouping: {g: _figures(m) for g, m in by.items()} for grouping, by in groups.items()},
        }
    return results


def _figures(metrics: dict) -> dict:
    return {key: metrics[key] for key in ("balanced_accuracy", "macro_auc")} | {
        "mel_recall": metrics["per_class"]["mel"]["recall"]
    }


def markdown(results: dict) -> str:
    """One row per view set: balanced accuracy / macro AUC / melanoma recall, overall, per image type and per
    routed photo type."""
    first = next(iter(results.values()))
    columns = [("all", None)] + [(g, k) for g in ("image type", "routed photo type") for k in sorted(first[g])]
    header = "| views | model runs | " + " | ".join(
        name if kind is None else f"{kind} ({name})" for name, kind in columns
    )
    rows = [header + " |", "|" + "---|" * (2 + len(columns))]
    for name, r in results.items():
        cells = [_cell(r["all"] if kind is None else r[group][kind]) for group, kind in columns]
        rows.append(f"| {name} | {r['model_runs']} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _cell(figures: dict) -> str:
    mel = figures["mel_recall"]
    return f"{figures['balanced_accuracy']:.3f} / {figures['macro_auc']:.3f} / " + (
        "–" if mel is None else f"{mel:.2f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = command_parser("python -m benchmarks.tta", __doc__)
    parser.add_argument("--data", type=Path, action="append", required=True, help="the build's --data folders")
    args = parser.parse_args(argv)
    results = measure(args.model, args.data)
    return emit(results, args.json_out, markdown(results))


if __name__ == "__main__":
    raise SystemExit(main())
