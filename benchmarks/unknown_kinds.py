"""``python -m benchmarks.unknown_kinds``: what the page tells lesions of kinds the model was never taught.

MILK10k holds diagnoses that no class here describes (docs/data.md): inflammatory lesions (INF), other
benign ones (BEN_OTH) and other malignant ones (MAL_OTH), all left out of training. Each of their photos is
judged as the page judges it (``trainer predict --json``'s tier), and the benchmark counts the tiers per
diagnosis and photo type. "Routine" for an MAL_OTH lesion would be a cancer reassured.

    python -m benchmarks.unknown_kinds --model model_artifacts --milk10k MILK10k [--json out.json]
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from benchmarks.output import command_parser, emit
from trainer.decision import NOT_JUDGED, advice_tiers
from trainer.milk10k import read_left_out
from trainer.predict import ExportedModel


def measure(model_dir: Path, milk10k: Path) -> dict:
    """``{diagnosis: {photo type: {tier: photos}}}`` for every left-out MILK10k photo, tiers in page order."""
    model = ExportedModel(model_dir)
    images = read_left_out(milk10k)
    answers = model.assess_files([image.path for image in images])
    counts = Counter((image.diagnosis, image.image_type, answers[str(image.path)]["tier"]) for image in images)
    tiers = [tier["name"] for tier in advice_tiers(model.manifest["decision"])] + [NOT_JUDGED]
    return {
        diagnosis: {
            kind: {tier: counts[(diagnosis, kind, tier)] for tier in tiers}
            for kind in sorted({image.image_type for image in images if image.diagnosis == diagnosis})
        }
        for diagnosis in sorted({image.diagnosis for image in images})
    }


def markdown(results: dict) -> str:
    """One row per diagnosis and photo type: photos, then the count of each tier."""
    if not results:
        return "No photo of a left-out diagnosis."
    tiers = list(next(iter(next(iter(results.values())).values())))
    lines = ["| diagnosis | photo type | photos | " + " | ".join(tiers) + " |", "|" + "---|" * (3 + len(tiers))]
    for diagnosis, kinds in results.items():
        for kind, counts in kinds.items():
            cells = [str(counts[tier]) for tier in tiers]
            lines.append(f"| {diagnosis} | {kind} | {sum(counts.values())} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = command_parser("python -m benchmarks.unknown_kinds", __doc__)
    parser.add_argument("--milk10k", type=Path, required=True, help="a MILK10k folder")
    args = parser.parse_args(argv)
    results = measure(args.model, args.milk10k)
    return emit(results, args.json_out, markdown(results))


if __name__ == "__main__":
    raise SystemExit(main())
