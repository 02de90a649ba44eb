"""How sure each figure is: a model's balanced accuracy, macro AUC and melanoma recall with 95% intervals
over lesions (its ECE gets none: trainer/intervals.py says why), overall and per image type, on one part of
the split it was built with (validation by default: levers are chosen there). With ``--against BASELINE``,
the paired difference of the two models on the same images, each resample drawing the same lesions for both:
a lever whose interval spans zero has not been shown to help.

    python -m benchmarks.intervals --model model_artifacts --data HAM10000 \
        --data MILK10k [--part test] [--against OTHER_MODEL] [--json intervals.json]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.output import command_parser, emit, model_split
from trainer.build import SplitMismatchError
from trainer.datasets import LabelledImages
from trainer.intervals import paired_differences, scored
from trainer.metrics import group_masks
from trainer.model_card import fraction, with_interval
from trainer.predict import ExportedModel

PARTS = ("validation", "test")
FIGURES = ("balanced_accuracy", "macro_auc", "mel_recall")


def _groups(images: LabelledImages) -> dict[str, np.ndarray]:
    return {"all images": np.ones(len(images), dtype=bool)} | group_masks(images.domains())


def measure(model_dir: Path, data: list[Path], part: str = "validation", against: Path | None = None) -> dict:
    """Figures with intervals per image type for ``model_dir``; with ``against``, paired differences too."""
    model = ExportedModel(model_dir)
    baseline = ExportedModel(against) if against is not None else None
    if baseline is not None and baseline.manifest["training_data"]["split"] != model.manifest["training_data"]["split"]:
        raise SplitMismatchError(f"{against} and {model_dir} were built on different splits: nothing to pair")
    images: LabelledImages = getattr(model_split(model, data), part)
    inputs = images.images.astype(np.float32)
    probabilities = model.page_view(inputs).shown
    baseline_probabilities = baseline.page_view(inputs).shown if baseline is not None else None
    lesions = np.asarray(images.groups) if images.groups is not None else None
    results: dict = {"model": str(model_dir), "part": part, "against": str(against) if against else None, "groups": {}}
    for name, members in _groups(images).items():
        ids = None if lesions is None else lesions[members].tolist()
        labels = images.labels[members]
        entry = {"model": scored(labels, probabilities[members], ids)}
        if baseline_probabilities is not None:
            entry["difference"] = paired_differences(
                labels, baseline_probabilities[members], probabilities[members], ids
            )
        results["groups"][name] = entry
    return results


def markdown(results: dict) -> str:
    """One row per image type: each figure with its interval; then the paired differences, where measured."""
    lines = [
        f"{results['part']} part, 95% intervals over lesions",
        "",
        "| images | n | balanced accuracy | macro AUC | melanoma recall | ECE |",
        "|---|---|---|---|---|---|",
    ]
    for name, entry in results["groups"].items():
        m = entry["model"]
        cells = [with_interval(m, key) for key in FIGURES]
        lines.append(f"| {name} | {m['n']} | " + " | ".join(cells) + f" | {fraction(m['ece'])} |")
    if results["against"]:
        lines += [
            "",
            f"{results['model']} minus {results['against']} (share of resamples in which it is better)",
            "",
            "| images | balanced accuracy | macro AUC | melanoma recall |",
            "|---|---|---|---|",
        ]
        for name, entry in results["groups"].items():
            d = entry["difference"]
            lines.append(f"| {name} | " + " | ".join(_difference(d[key]) for key in FIGURES) + " |")
    return "\n".join(lines)


def _difference(d: dict) -> str:
    if d["difference"] is None:
        return "n/a"
    low, high = d["interval"]
    return f"{d['difference']:+.3f} ({low:+.3f} to {high:+.3f}; {d['share_candidate_better']:.0%})"


def main(argv: list[str] | None = None) -> int:
    parser = command_parser("python -m benchmarks.intervals", __doc__)
    parser.add_argument("--data", type=Path, action="append", required=True, help="the build's --data folders")
    parser.add_argument("--part", choices=PARTS, default="validation", help="which part of the split to score")
    parser.add_argument("--against", type=Path, help="a baseline model folder built on the same split")
    args = parser.parse_args(argv)
    try:
        results = measure(args.model, args.data, args.part, args.against)
    except SplitMismatchError as error:
        parser.error(str(error))
    return emit(results, args.json_out, markdown(results))


if __name__ == "__main__":
    raise SystemExit(main())
