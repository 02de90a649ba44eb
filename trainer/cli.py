"""Command line: ``python -m trainer build | predict | evaluate``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DEFAULT_OUT = Path("model_artifacts")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def make_parser() -> argparse.ArgumentParser:
    """The argument parser with its three sub-commands."""
    from trainer.export import QUANTIZATION_MAPS
    from trainer.models import ARCHITECTURES, DEFAULT_ARCH
    from trainer.recipe import AUGMENT_MODES, IMBALANCE_MODES
    from trainer.splits import SPLIT_KINDS

    parser = argparse.ArgumentParser(
        prog="python -m trainer", description="Train, export and evaluate the skin-lesion classifier."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser(
        "build",
        help="train on a dataset and export a TF.js model folder",
        description="Train on a dataset (HAM10000 layout or X.npy/y.npy), evaluate on a held-out "
        "test split, calibrate, and atomically write a TF.js model folder with manifest and report.",
    )
    build.add_argument(
        "--data",
        type=Path,
        required=True,
        help="dataset folder: HAM10000_metadata.csv + HAM10000_images/, or X.npy + y.npy",
    )
    build.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"model folder to (re)place (default: {DEFAULT_OUT})"
    )
    build.add_argument(
        "--arch", choices=sorted(ARCHITECTURES), default=DEFAULT_ARCH, help=f"architecture (default: {DEFAULT_ARCH})"
    )
    build.add_argument("--epochs", type=_positive_int, help="total epochs (default: the architecture's recipe)")
    build.add_argument("--limit", type=_positive_int, help="use at most N images, spread over the classes (quick runs)")
    build.add_argument(
        "--max-per-class", type=_positive_int, help="keep at most N images per class (the seed used 142)"
    )
    build.add_argument(
        "--split",
        choices=SPLIT_KINDS,
        default="grouped",
        help="grouped: by lesion_id (default); "
        "seed: the seed's leaky train_test_split(test_size=0.4, random_state=101)",
    )
    build.add_argument(
        "--config",
        choices=("default", "seed"),
        default="default",
        help="seed: the seed's recipe (RMSprop 1e-4, batch 10, 20 epochs, validation_split 0.4, no augmentation)",
    )
    build.add_argument(
        "--imbalance", choices=IMBALANCE_MODES, help="class weighting (default: the recipe's, sqrt-weights)"
    )
    build.add_argument("--learning-rate", type=float, help="peak learning rate (default: the recipe's)")
    build.add_argument(
        "--train-batch-norm", action="store_true", help="fine-tune the backbone's batch norms too (default: frozen)"
    )
    build.add_argument(
        "--augment",
        choices=AUGMENT_MODES,
        help="dermoscopy: the seed's flip and centre zoom plus vertical flip and colour jitter (default); "
        "seed: the seed's two transforms only; none",
    )
    build.add_argument("--patience", type=_positive_int, help="early-stopping patience in epochs")
    build.add_argument("--seed", type=int, default=0, help="random seed for subset, split and training (default: 0)")
    build.add_argument(
        "--quantize",
        choices=sorted(QUANTIZATION_MAPS),
        default="uint8",
        help="weight quantisation of the TF.js export (default: uint8 for the large deep kernels, float16 rest)",
    )

    predict = commands.add_parser(
        "predict",
        help="print class probabilities for image files (the Python reference)",
        description="Predict with an exported model folder through the same preprocessing the browser uses.",
    )
    predict.add_argument("--model", type=Path, default=DEFAULT_OUT, help=f"model folder (default: {DEFAULT_OUT})")
    predict.add_argument("--json", action="store_true", help='print {"<image path>": {"akiec": p, ...}, ...} as JSON')
    predict.add_argument("images", nargs="+", type=Path, help="image files (JPEG, PNG, ...)")

    evaluate = commands.add_parser(
        "evaluate",
        help="score a model folder on labelled images",
        description="Evaluate any model folder on labelled images through the browser's preprocessing.",
    )
    evaluate.add_argument("--model", type=Path, default=DEFAULT_OUT, help=f"model folder (default: {DEFAULT_OUT})")
    source = evaluate.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="a HAM10000-layout folder (every image is scored)")
    source.add_argument("--images", type=Path, help="folder of <image_id>.jpg|.png files (needs --labels)")
    evaluate.add_argument("--labels", type=Path, help="CSV with columns image_id,dx (with --images)")
    evaluate.add_argument("--json", type=Path, dest="json_out", help="also write the metrics JSON to this file")
    return parser


def run_build(args: argparse.Namespace) -> int:
    from trainer.build import BuildOptions, build

    options = BuildOptions(
        data=args.data,
        out=args.out,
        arch=args.arch,
        epochs=args.epochs,
        limit=args.limit,
        max_per_class=args.max_per_class,
        split=args.split,
        seed=args.seed,
        seed_config=args.config == "seed",
        imbalance=args.imbalance,
        learning_rate=args.learning_rate,
        train_batch_norm=args.train_batch_norm,
        patience=args.patience,
        augment=args.augment,
        quantization=args.quantize,
    )
    metrics = build(options)
    test = metrics["test"]
    print(
        f"wrote {args.out}: test balanced accuracy {test['balanced_accuracy']:.3f}, "
        f"macro AUC {test['macro_auc'] or float('nan'):.3f}, accuracy {test['accuracy']:.3f}, n={test['n']}"
    )
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from trainer.predict import ExportedModel

    results = ExportedModel(args.model).predict_files(args.images)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for path, probabilities in results.items():
            ranked = sorted(probabilities.items(), key=lambda item: -item[1])
            print(f"{path}: " + ", ".join(f"{code} {p:.3f}" for code, p in ranked))
    return 0


def run_evaluate(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from trainer.evaluate import evaluate_folder

    if args.images is not None and args.labels is None:
        parser.error("--images needs --labels CSV (columns image_id,dx)")
    metrics = evaluate_folder(args.model, data=args.data, images=args.images, labels=args.labels)
    text = json.dumps(metrics, indent=2)
    if args.json_out:
        args.json_out.write_text(text + "\n")
    print(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; dataset and model-folder problems exit 2 with a one-line message."""
    parser = make_parser()
    args = parser.parse_args(argv)
    from trainer.datasets import DatasetError
    from trainer.preprocess import ImageDecodeError

    try:
        if args.command == "build":
            return run_build(args)
        if args.command == "predict":
            return run_predict(args)
        return run_evaluate(args, parser)
    except (DatasetError, ImageDecodeError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
