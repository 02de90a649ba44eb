"""``python -m benchmarks.degraded``: what poor photos do to the page's answer.

A phone photo can be out of focus, shaken, too dark or too bright, noisy, heavily compressed, lit by a
coloured lamp, or taken from too far away. Each of these is applied at three severities to the lesion photos
of the split the model was built with (recomputed from the same data and seed), at their decoded resolution
and before the page's crop and resize, and the photos are then judged as the page judges them (photo checks,
out-of-distribution score, photo type, advice tier). Reported per degradation and severity: the share the
page withholds ("not judged"), the share of cancers it tells "routine" (false reassurance: the one answer
that must not grow as photos get worse), and the model's balanced accuracy and macro AUC on every photo.

    python -m benchmarks.degraded --model model_artifacts --data HAM10000 \\
        --data MILK10k [--part validation --part test] [--json degraded.json]
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from benchmarks.output import command_parser, emit, model_split
from trainer.datasets import LabelledImages, read_labelled_files
from trainer.decision import CANCER_CLASSES, LOWEST_TIER, NOT_JUDGED, is_unsure, tiers_for
from trainer.metrics import classification_metrics
from trainer.predict import ExportedModel
from trainer.preprocess import decode_image, preprocess_array

Degradation = Callable[[np.ndarray, float], np.ndarray]


def _linear(rgb: np.ndarray) -> np.ndarray:
    return (rgb.astype(np.float32) / 255.0) ** 2.2


def _display(linear: np.ndarray) -> np.ndarray:
    return np.round(255.0 * np.clip(linear, 0.0, 1.0) ** (1 / 2.2)).astype(np.uint8)


def unchanged(rgb: np.ndarray, _: float) -> np.ndarray:
    """The photo as it is (the reference row)."""
    return rgb


def defocus(rgb: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur; ``sigma`` in pixels of a 200-pixel-wide photo."""
    return cv2.GaussianBlur(rgb, (0, 0), sigma * rgb.shape[1] / 200)


def motion(rgb: np.ndarray, length: float) -> np.ndarray:
    """Horizontal camera shake over ``length`` pixels of a 200-pixel-wide photo."""
    pixels = max(1, round(length * rgb.shape[1] / 200))
    kernel = np.full((1, pixels), 1.0 / pixels, np.float32)
    return cv2.filter2D(rgb, -1, kernel, borderType=cv2.BORDER_REFLECT)


def exposure(rgb: np.ndarray, stops: float) -> np.ndarray:
    """Exposure changed by ``stops`` (negative: darker), in linear light, clipped at white."""
    return _display(_linear(rgb) * 2.0**stops)


def noise(rgb: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian sensor noise of ``sigma`` grey levels (seeded by the photo, so runs repeat)."""
    rng = np.random.default_rng(int(rgb.sum()) % 2**32)
    return np.clip(rgb + rng.normal(0.0, sigma, rgb.shape), 0, 255).astype(np.uint8)


def jpeg(rgb: np.ndarray, quality: float) -> np.ndarray:
    """Re-encoded as JPEG at ``quality``."""
    _, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def warm_light(rgb: np.ndarray, strength: float) -> np.ndarray:
    """A warm lamp: red gained and blue lost by ``strength`` in linear light."""
    gains = np.array([1.0 + strength, 1.0, 1.0 - strength], np.float32)
    return _display(_linear(rgb) * gains)


def farther(rgb: np.ndarray, scale: float) -> np.ndarray:
    """Taken from farther away: the photo shrunk by ``scale`` in the middle of its mirrored surroundings."""
    height, width = rgb.shape[:2]
    small = cv2.resize(rgb, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    top, left = (height - small.shape[0]) // 2, (width - small.shape[1]) // 2
    bottom, right = height - small.shape[0] - top, width - small.shape[1] - left
    return cv2.copyMakeBorder(small, top, bottom, left, right, cv2.BORDER_REFLECT)


# Degradation -> (function, three severities, unit), mild to severe.
DEGRADATIONS: dict[str, tuple[Degradation, tuple[float, ...], str]] = {
    "out of focus": (defocus, (1.5, 3.0, 6.0), "blur sigma, px of 200"),
    "camera shake": (motion, (6.0, 12.0, 24.0), "shake, px of 200"),
    "too dark": (exposure, (-1.0, -2.0, -3.0), "stops"),
    "too bright": (exposure, (1.0, 1.5, 2.0), "stops"),
    "noisy": (noise, (8.0, 16.0, 32.0), "noise sigma"),
    "compressed": (jpeg, (20.0, 10.0, 5.0), "JPEG quality"),
    "warm lamp": (warm_light, (0.15, 0.3, 0.45), "red/blue gain"),
    "farther away": (farther, (0.7, 0.5, 0.35), "scale"),
}


def image_paths(data: list[Path]) -> dict[str, Path]:
    """Image id -> file, over the data folders (the first folder holding an id wins, as in training)."""
    paths: dict[str, Path] = {}
    for folder in data:
        for labelled in read_labelled_files(folder):
            paths.setdefault(labelled.image_id, labelled.path)
    return paths


def decoded_parts(
    model: ExportedModel, data: list[Path], parts: list[str]
) -> dict[str, tuple[LabelledImages, list[np.ndarray]]]:
    """Each of ``parts`` of the split ``model`` was built with, and its photos decoded at their own resolution."""
    split_parts = model_split(model, data)
    paths = image_paths(data)
    decoded = {}
    for name in parts:
        part = getattr(split_parts, name)
        decoded[name] = part, [decode_image(paths[image_id]) for image_id in part.image_ids]
    return decoded


def page_answers(model: ExportedModel, inputs: np.ndarray) -> dict[str, np.ndarray]:
    """Probabilities shown, tier (``not-judged`` included) and unsure flag of each input, as the page gives them."""
    outputs, judgement, shown = model.page_view(inputs)
    decision = model.manifest.get("decision", {})
    tiers = tiers_for(outputs.probabilities, decision, judgement.judged, judgement.photo_types)
    failed_checks = np.zeros(len(inputs), bool)
    for failed in judgement.failed_checks.values():
        failed_checks |= np.asarray(failed, bool)
    unusual = judgement.out_of_distribution
    return {
        "probabilities": shown,
        "tiers": tiers,
        "unsure": is_unsure(outputs.probabilities, decision),
        "failed_checks": failed_checks,
        "out_of_distribution": np.zeros(len(inputs), bool) if unusual is None else np.asarray(unusual, bool),
    }


def summary(labels: np.ndarray, answers: dict[str, np.ndarray]) -> dict:
    """Withheld share (and why: photo checks, OOD score; a photo may fail both), false reassurance of cancers,
    and the model's scores on every photo."""
    tiers, cancer = answers["tiers"], np.isin(labels, CANCER_CLASSES)
    judged = tiers != NOT_JUDGED
    reassured = tiers == LOWEST_TIER
    scores = classification_metrics(labels, answers["probabilities"])
    return {
        "photos": len(labels),
        "cancers": int(cancer.sum()),
        "not_judged": float((~judged).mean()),
        "failed_photo_checks": float(answers["failed_checks"].mean()),
        "out_of_distribution": float(answers["out_of_distribution"].mean()),
        "cancers_reassured": float(reassured[cancer].mean()),
        "judged_cancers_reassured": float(reassured[cancer & judged].mean()) if (cancer & judged).any() else None,
        "others_reassured": float(reassured[~cancer].mean()),
        "unsure": float(answers["unsure"].mean()),
        "balanced_accuracy": scores["balanced_accuracy"],
        "macro_auc": scores["macro_auc"],
    }


def measure(model_dir: Path, data: list[Path], parts: list[str]) -> dict:
    """Per split part, image type, degradation and severity: :func:`summary`."""
    model = ExportedModel(model_dir)
    results: dict = {}
    for name, (part, photos) in decoded_parts(model, data, parts).items():
        kinds = np.array(part.domains())
        settings = [("none", 0.0, unchanged)] + [
            (degradation, severity, function)
            for degradation, (function, severities, _) in DEGRADATIONS.items()
            for severity in severities
        ]
        rows = []
        for degradation, severity, function in settings:
            inputs = np.stack([preprocess_array(function(rgb, severity)) for rgb in photos])
            answers = page_answers(model, inputs)
            by_type = {
                kind: summary(part.labels[kinds == kind], {k: v[kinds == kind] for k, v in answers.items()})
                for kind in sorted(set(kinds))
            }
            rows.append(
                {"degradation": degradation, "severity": severity, "all": summary(part.labels, answers), **by_type}
            )
            print(_line(rows[-1]), flush=True)
        results[name] = rows
    return results


def _line(row: dict) -> str:
    s = row["all"]
    return (
        f"{row['degradation']:>13} {row['severity']:>5}: not judged {s['not_judged']:.3f}, cancers reassured "
        f"{s['cancers_reassured']:.3f}, others reassured {s['others_reassured']:.3f}, unsure {s['unsure']:.3f}, "
        f"BMCA {s['balanced_accuracy']:.3f}, AUC {s['macro_auc']:.3f}"
    )


def markdown(rows: list[dict], kind: str = "all") -> str:
    """One table row per degradation and severity, for one image type (or ``all``)."""
    header = (
        "| degradation | severity | not judged (photo checks / OOD) | cancers told routine | judged cancers told "
        "routine | other lesions told routine | unsure | BMCA | macro AUC |"
    )
    lines = [header, "|" + "---|" * 9]
    units = {name: unit for name, (_, _, unit) in DEGRADATIONS.items()}
    for row in rows:
        s = row[kind]
        judged_reassured = s["judged_cancers_reassured"]
        severity = "–" if row["degradation"] == "none" else f"{row['severity']:g} ({units[row['degradation']]})"
        lines.append(
            f"| {row['degradation']} | {severity} | {s['not_judged']:.1%} ({s['failed_photo_checks']:.0%} / "
            f"{s['out_of_distribution']:.0%}) | {s['cancers_reassured']:.1%} | "
            f"{'–' if judged_reassured is None else f'{judged_reassured:.1%}'} | {s['others_reassured']:.1%} | "
            f"{s['unsure']:.1%} | {s['balanced_accuracy']:.3f} | {s['macro_auc']:.3f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = command_parser("python -m benchmarks.degraded", __doc__)
    parser.add_argument("--data", type=Path, action="append", required=True, help="the build's --data folders")
    parser.add_argument("--part", action="append", choices=("validation", "test"), help="split parts (default: test)")
    args = parser.parse_args(argv)
    results = measure(args.model, args.data, args.part or ["test"])
    return emit(results, args.json_out, "\n\n".join(f"{name}\n\n{markdown(rows)}" for name, rows in results.items()))


if __name__ == "__main__":
    raise SystemExit(main())
