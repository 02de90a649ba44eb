"""``python -m benchmarks.ood``: how often the learned OOD score flags lesion photos and non-lesion images.

Run ``python -m benchmarks.ood --model <model folder> --data <folders the model was built from...>
[--other-data <lesion folders it never saw...>]``. The ``--data`` folders are split exactly as
``trainer build`` splits them (same seed): a model with an OOD output is measured with its own output and
manifest threshold; a model without one (or with ``--refit``) gets the score fitted here, on the training
part, with its threshold chosen on the validation part. Flag rates are then reported on the test part (false
alarms on lesion images the model never saw), on every image of ``--other-data``, and on the non-lesion sets
of :mod:`benchmarks.ood_images`. For comparison, three other scores are fitted and thresholded the same way:
a class-agnostic Mahalanobis distance, the maximum softmax probability and the energy score.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.special import logsumexp

from benchmarks.ood_images import write_image_sets
from trainer.build import BuildPlan, load_data, split_data
from trainer.datasets import LabelledImages, load_datasets
from trainer.export import load_tfjs
from trainer.image_checks import flagged
from trainer.keras_backend import keras
from trainer.models import LOGITS_LAYER
from trainer.ood import (
    METHOD,
    OOD_OUTPUT,
    fit_mahalanobis,
    is_out_of_distribution,
    mahalanobis_scores,
    ood_features,
    ood_method,
    ood_threshold,
    with_ood_output,
)
from trainer.predict import read_manifest
from trainer.preprocess import preprocess_file

REPO_ROOT = Path(__file__).resolve().parent.parent

Scorer = Callable[[dict[str, np.ndarray]], np.ndarray]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ood", description=__doc__)
    parser.add_argument("--model", type=Path, default=REPO_ROOT / "model_artifacts", help="the model folder")
    parser.add_argument("--data", type=Path, action="append", required=True, help="a folder the model was built from")
    parser.add_argument("--other-data", type=Path, action="append", default=[], help="lesion images never trained on")
    parser.add_argument("--seed", type=int, default=0, help="the build's split seed (default: 0)")
    parser.add_argument("--refit", action="store_true", help="fit the score here even if the model has one")
    parser.add_argument("--images", type=Path, help="keep the generated non-lesion images in this folder")
    parser.add_argument("--json", type=Path, dest="json_out", help="write the results to this JSON file")
    return parser.parse_args()


def probe(model: keras.Model) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
    """Images -> penultimate features, logits, the OOD score's features and (where the model has one) OOD
    score, in one pass."""
    outputs = {
        "features": model.get_layer(LOGITS_LAYER).input,
        "logits": model.get_layer(LOGITS_LAYER).output,
        "ood_features": ood_features(model),
    }
    if OOD_OUTPUT in model.output_names:
        outputs["ood_score"] = model.outputs[model.output_names.index(OOD_OUTPUT)]
    both = keras.Model(model.inputs, list(outputs.values()))

    def run(images: np.ndarray) -> dict[str, np.ndarray]:
        values = both.predict(np.asarray(images, np.float32), batch_size=64, verbose=0)
        return {name: np.asarray(value, np.float64) for name, value in zip(outputs, values)}

    return run


def comparison_scorers(train: dict[str, np.ndarray], labels: np.ndarray) -> dict[str, Scorer]:
    """Other published scores, fitted on the same training features (higher = more unusual)."""
    agnostic = fit_mahalanobis(train["features"], np.zeros_like(labels))
    return {
        "mahalanobis-class-agnostic": lambda out: mahalanobis_scores(agnostic, out["features"]),
        "max-softmax-probability": lambda out: (
            -np.exp(out["logits"] - logsumexp(out["logits"], 1, keepdims=True)).max(1)
        ),
        "energy": lambda out: -logsumexp(out["logits"], axis=1),
    }


def flag_rates(flagged: np.ndarray, groups: list[str]) -> dict[str, dict]:
    """Share of images flagged, per group and overall."""
    groups_array = np.asarray(groups)
    rates = {name: _rate(flagged[groups_array == name]) for name in sorted(set(groups))}
    return {"all": _rate(flagged), **rates} if len(rates) > 1 else rates


def _rate(flagged: np.ndarray) -> dict:
    return {"images": int(flagged.size), "flagged": int(flagged.sum()), "rate": float(flagged.mean())}


def lesion_groups(images: LabelledImages) -> list[str]:
    """``"<dataset> <image type>"``, plus the HAM10000 source (clinic and device) where known."""
    sources = images.meta.get("source", [""] * len(images))
    return [f"{d} ({s})" if s and s not in d else d for d, s in zip(images.domains(), sources)]


def measure(args: argparse.Namespace, image_folder: Path) -> dict:
    image_sets = write_image_sets(image_folder, args.model)
    manifest = read_manifest(args.model)
    model = load_tfjs(args.model)
    plan = BuildPlan(data=tuple(args.data), out=args.model, seed=args.seed)
    parts = split_data(plan, load_data(plan))
    train = probe(model)(parts.train.images)
    builtin = OOD_OUTPUT in model.output_names and not args.refit
    if not builtin:  # fitted here on the probabilities alone, whatever other outputs the model has
        probabilities = keras.Model(model.inputs, model.outputs[0], name=model.name)
        model = with_ood_output(probabilities, train["ood_features"], parts.train.labels)
    score_method = manifest["decision"]["ood"].get("method", METHOD) if builtin else ood_method(model)
    run = probe(model)
    validation = run(parts.validation.images)
    scorers: dict[str, Scorer] = {score_method: lambda out: out["ood_score"][:, 0]}
    scorers |= comparison_scorers(train, parts.train.labels)
    thresholds = {name: ood_threshold(scorer(validation)) for name, scorer in scorers.items()}
    if builtin:
        thresholds[score_method] = manifest["decision"]["ood"]["threshold"]
    checks = manifest.get("decision", {}).get("image_checks", {})

    def outputs(images: np.ndarray) -> dict[str, np.ndarray]:
        return run(images) | {"photo_checks": flagged(images, checks)}

    evaluated = {
        "validation": (validation | {"photo_checks": flagged(parts.validation.images, checks)}, parts.validation)
    }
    evaluated["test"] = (outputs(parts.test.images), parts.test)
    if args.other_data:
        other = load_datasets(args.other_data)
        evaluated["other lesion images"] = (outputs(other.images), other)
    inputs = {name: np.stack([preprocess_file(p) for p in paths]) for name, paths in image_sets.items()}
    non_lesion = {name: outputs(images) for name, images in inputs.items()}

    deciders: dict[str, Callable[[dict[str, np.ndarray]], np.ndarray]] = {
        f"{name} > {thresholds[name]:.4g}": (lambda out, n=name: is_out_of_distribution(scorers[n](out), thresholds[n]))
        for name in scorers
    }
    deciders["photo checks"] = lambda out: out["photo_checks"]
    primary = next(iter(deciders))
    deciders[f"not judged ({score_method} or photo checks)"] = lambda out: deciders[primary](out) | out["photo_checks"]
    rates = {}
    for method, decide in deciders.items():
        rates[method] = {
            part: flag_rates(decide(out), lesion_groups(images)) for part, (out, images) in evaluated.items()
        }
        rates[method] |= {
            name: flag_rates(decide(out), [name] * len(out["logits"])) for name, out in non_lesion.items()
        }
    return {
        "model": str(args.model),
        "data": [str(d) for d in args.data],
        "other_data": [str(d) for d in args.other_data],
        "score": "the model's own OOD output and manifest threshold" if builtin else "fitted here on the training part",
        "split": {"train": len(parts.train), "validation": len(parts.validation), "test": len(parts.test)},
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
        "thresholds": thresholds,
        "rates": rates,
        "non_lesion_images": {
            name: {
                path.name: {
                    "score": float(out["ood_score"][i, 0]),
                    "out_of_distribution": bool(deciders[primary](out)[i]),
                    "photo_checks_failed": bool(out["photo_checks"][i]),
                }
                for i, path in enumerate(image_sets[name])
            }
            for name, out in non_lesion.items()
        },
    }


def markdown(results: dict) -> str:
    """One table per method: flag rate of every image group."""
    lines = []
    for method, parts in results["rates"].items():
        lines += [f"### {method}", "", "| images | group | flagged | rate |", "|---|---|---|---|"]
        for part, groups in parts.items():
            for group, rate in groups.items():
                lines.append(f"| {part} | {group} | {rate['flagged']} / {rate['images']} | {rate['rate']:.1%} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    args = parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ood-images-") as temporary:
        results = measure(args, args.images or Path(temporary))
    results["seconds"] = time.monotonic() - started
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2) + "\n")
    print(markdown(results))


if __name__ == "__main__":
    main()
