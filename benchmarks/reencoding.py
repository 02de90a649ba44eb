"""``python -m benchmarks.reencoding``: how far saving the same photo again moves the page's answer.

The photos a patient sends have passed through some codec, and the GPU scripts train on copies re-encoded
for transfer (WebP at quality 75, trainer/teacher_pack.py). Each validation or test photo of the split the
model was built with is judged as it is, and again after an encoding a person could not tell apart from it
(JPEG and WebP round trips at usual qualities, whole-grey-level rounding, faint noise), at its decoded
resolution and before the page's crop and resize. Reported per encoding: the model's balanced accuracy and
macro AUC, per image type too, and against the photo as it is the share whose top class or advice tier
changed, with the share of cancers told "routine".

    python -m benchmarks.reencoding --model model_artifacts --data HAM10000 \\
        --data MILK10k [--part validation --part test] [--json reencoding.json]
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.degraded import decoded_parts, page_answers
from benchmarks.output import command_parser, emit
from trainer.decision import CANCER_CLASSES, LOWEST_TIER
from trainer.metrics import classification_metrics
from trainer.predict import ExportedModel
from trainer.preprocess import preprocess_array

Encoding = Callable[[np.ndarray], np.ndarray]
NOISE_SIGMA = 2.0  # grey levels


def codec(image_format: str, quality: int) -> Encoding:
    """A round trip through Pillow's ``image_format`` encoder at ``quality``."""

    def round_trip(rgb: np.ndarray) -> np.ndarray:
        buffer = io.BytesIO()
        Image.fromarray(rgb).save(buffer, image_format, quality=quality)
        return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))

    return round_trip


def faint_noise(rgb: np.ndarray) -> np.ndarray:
    """Gaussian noise of NOISE_SIGMA grey levels, seeded by the photo so that runs repeat."""
    rng = np.random.default_rng(int(rgb.sum()) % 2**32)
    return np.clip(np.round(rgb + rng.normal(0.0, NOISE_SIGMA, rgb.shape)), 0, 255).astype(np.uint8)


# Encoding name -> what it does to a decoded uint8 photo; "as it is" is the reference every other is compared to.
ENCODINGS: dict[str, Encoding | None] = {
    "as it is": None,
    "JPEG q95": codec("JPEG", 95),
    "JPEG q85": codec("JPEG", 85),
    "JPEG q70": codec("JPEG", 70),
    "WebP q90": codec("WEBP", 90),
    "WebP q75 (the GPU pack's)": codec("WEBP", 75),
    f"noise, sd {NOISE_SIGMA:g} grey levels": faint_noise,
}


def scores(labels: np.ndarray, answers: dict[str, np.ndarray], reference: dict[str, np.ndarray]) -> dict:
    """Balanced accuracy, macro AUC, cancers told "routine", and the shares whose top class or tier differ from
    ``reference`` (the same photos as they are)."""
    metrics = classification_metrics(labels, answers["probabilities"])
    cancer = np.isin(labels, CANCER_CLASSES)
    top, reference_top = answers["probabilities"].argmax(1), reference["probabilities"].argmax(1)
    return {
        "photos": len(labels),
        "balanced_accuracy": metrics["balanced_accuracy"],
        "macro_auc": metrics["macro_auc"],
        "top_class_changed": float(np.mean(top != reference_top)),
        "tier_changed": float(np.mean(answers["tiers"] != reference["tiers"])),
        "cancers_reassured": float(np.mean(answers["tiers"][cancer] == LOWEST_TIER)) if cancer.any() else None,
    }


def measure(model_dir: Path, data: list[Path], parts: list[str]) -> dict:
    """Per split part and encoding: :func:`scores` over all photos and per image type."""
    model = ExportedModel(model_dir)
    results: dict = {}
    for name, (part, photos) in decoded_parts(model, data, parts).items():
        kinds = np.array(part.domains())
        groups = {"all": np.ones(len(kinds), bool)} | {kind: kinds == kind for kind in sorted(set(kinds))}
        reference = None
        rows = []
        for encoding, function in ENCODINGS.items():
            inputs = np.stack([preprocess_array(rgb if function is None else function(rgb)) for rgb in photos])
            answers = page_answers(model, inputs)
            if reference is None:
                reference = answers
            row = {"encoding": encoding}
            for group, mask in groups.items():
                row[group] = scores(
                    part.labels[mask],
                    {k: v[mask] for k, v in answers.items()},
                    {k: v[mask] for k, v in reference.items()},
                )
            rows.append(row)
            print(_line(row), flush=True)
        results[name] = rows
    return results


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _pair(group: dict) -> str:
    return " / ".join("–" if group[key] is None else f"{group[key]:.3f}" for key in ("balanced_accuracy", "macro_auc"))


def _line(row: dict) -> str:
    s = row["all"]
    return (
        f"{row['encoding']:>28}: BMCA / AUC {_pair(s)}, top class changed "
        f"{_share(s['top_class_changed'])}, tier changed {_share(s['tier_changed'])}, cancers told routine "
        f"{_share(s['cancers_reassured'])}"
    )


def markdown(rows: list[dict]) -> str:
    """One table row per encoding; balanced accuracy and AUC for all photos and per image type."""
    kinds = [key for key in rows[0] if key not in ("encoding", "all")]
    header = ["encoding", "BMCA / AUC", *(f"{kind} BMCA / AUC" for kind in kinds)]
    header += ["top class changed", "advice tier changed", "cancers told routine"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        s = row["all"]
        cells = [
            row["encoding"],
            *(f"{row[g]['balanced_accuracy']:.3f} / {row[g]['macro_auc']:.3f}" for g in ["all", *kinds]),
        ]
        cells += [_share(s["top_class_changed"]), _share(s["tier_changed"]), _share(s["cancers_reassured"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = command_parser("python -m benchmarks.reencoding", __doc__)
    parser.add_argument("--data", type=Path, action="append", required=True, help="the build's --data folders")
    parser.add_argument(
        "--part", action="append", choices=("validation", "test"), help="split parts (default: validation)"
    )
    args = parser.parse_args(argv)
    results = measure(args.model, args.data, args.part or ["validation"])
    return emit(results, args.json_out, "\n\n".join(f"{name}\n\n{markdown(rows)}" for name, rows in results.items()))


if __name__ == "__main__":
    raise SystemExit(main())
