"""``python -m trainer explain``: the page's "where the model looked" map, computed in Python."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DEFAULT_MODEL = Path("model_artifacts")


def add_explain_parser(commands: argparse._SubParsersAction) -> None:
    """Register the ``explain`` sub-command."""
    explain = commands.add_parser(
        "explain",
        help="occlusion map of the top class for one image (the browser's saliency overlay)",
        description="Compute, through the browser's preprocessing, how much covering each 5x5-pixel cell of the "
        "75x100 input lowers the top class's probability (occlusion sensitivity; values 0..1).",
    )
    explain.add_argument("--model", type=Path, default=DEFAULT_MODEL, help=f"model folder (default: {DEFAULT_MODEL})")
    explain.add_argument(
        "--json", action="store_true", help='print {"image", "class", "probability", "grid": rows, ...} as JSON'
    )
    explain.add_argument("--out", type=Path, help="also write the input with the map overlaid as a PNG (4x enlarged)")
    explain.add_argument("image", type=Path, help="image file (JPEG, PNG, ...)")


def run_explain(args: argparse.Namespace) -> int:
    """Compute and print the map; a bad model folder exits 2 with a one-line message."""
    import cv2

    from trainer.explain import CELL, PATCH, first_output, occlusion_map, overlay
    from trainer.predict import ExportedModel, ModelFolderError
    from trainer.preprocess import preprocess_file

    image = preprocess_file(args.image)
    try:
        exported = ExportedModel(args.model)
    except ModelFolderError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    saliency = occlusion_map(first_output(exported.model), image)
    code = exported.codes[saliency.class_index]
    picture = cv2.cvtColor(overlay(image, saliency.grid), cv2.COLOR_RGB2BGR)
    if args.out and not cv2.imwrite(str(args.out), picture):
        raise FileNotFoundError(f"cannot write {args.out} (is the folder there, and the suffix .png?)")
    if args.json:
        result = {
            "image": str(args.image),
            "class": code,
            "probability": saliency.probability,
            "largest_drop": saliency.largest_drop,
            "cell": CELL,
            "patch": PATCH,
            "grid": saliency.grid.tolist(),
        }
        print(json.dumps(result))
    else:
        print(f"{args.image}: areas that pushed the model toward {code} (p={saliency.probability:.3f},")
        print(f"  largest drop when covered {saliency.largest_drop:.3f}); {CELL}x{CELL}-pixel cells, top-left first:")
        for row in saliency.grid:
            print(" ".join(f"{value:.2f}" for value in row))
    return 0
