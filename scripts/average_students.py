"""Average the weights of students trained from the same start (a uniform model soup), for `trainer build --weights`.

    python scripts/average_students.py --pack PACK --run RUN_A --run RUN_B --out SOUP [--refresh-batch-norm]

Each RUN is a folder scripts/gpu_student.py wrote with the same `--init-seed` (so every run starts from the
same weights and differs only in its order and augmentation), the same pack and the same recipe. Networks
fine-tuned from one start stay in one basin of the loss, where the mean of their weights is itself a good
network (Wortsman et al. 2022, "Model soups"). The soup costs no more download or latency than one of them.
With `--refresh-batch-norm` the batch norm statistics are measured again on the training images (at the
page's input, no augmentation, no dropout) instead of averaged. SOUP/student.npz and SOUP/run.json have the layout of a
gpu_student.py run, scored on the pack's validation and test parts, so `trainer build --weights
SOUP/student.npz` loads it as it loads one student.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from gpu_student import RUN_FACTS, WEIGHTS, Student, page_input, per_type
from gpu_teacher import STARTED, load_pack, log
from torch import nn

SHARED_FACTS = ("backbone", "teacher", "architecture", "held_out_digest", "train_order_digest")
OWN_ARGUMENTS = ("seed", "init_seed", "out")  # what may differ between the runs of one soup


def initial_seed(arguments: dict) -> int:
    """The seed a run's initial weights were drawn with (its --init-seed, else its --seed)."""
    return arguments["seed"] if arguments.get("init_seed") is None else arguments["init_seed"]


def recipe(arguments: dict) -> dict:
    """A run's arguments that the runs of one soup share."""
    return {key: value for key, value in arguments.items() if key not in OWN_ARGUMENTS}


def read_runs(runs: list[Path]) -> list[dict]:
    """Each run's run.json, refusing runs that did not start from the same weights on the same split and recipe."""
    facts = [json.loads((run / RUN_FACTS).read_text()) for run in runs]
    first = facts[0]
    for run, other in zip(runs[1:], facts[1:], strict=True):
        for key in SHARED_FACTS:
            if other[key] != first[key]:
                raise SystemExit(f"{run} differs from {runs[0]} in {key}: only runs of one split and network average")
        if recipe(other["arguments"]) != recipe(first["arguments"]):
            raise SystemExit(f"{run} was trained with other arguments than {runs[0]}")
        if initial_seed(other["arguments"]) != initial_seed(first["arguments"]):
            raise SystemExit(f"{run} and {runs[0]} started from other weights: train them with one --init-seed")
    return facts


def mean_state(runs: list[Path]) -> dict[str, np.ndarray]:
    """The element-wise mean of the runs' student.npz arrays."""
    states = [dict(np.load(run / WEIGHTS)) for run in runs]
    return {name: np.mean([state[name] for state in states], axis=0) for name in states[0]}


def as_student(weights: dict[str, np.ndarray], state: dict[str, np.ndarray]) -> Student:
    """A Student holding ``state`` (names as student.npz keeps them)."""
    student = Student(weights)
    named = {
        name if name.startswith(("head", "logits")) else f"backbone.{name}": torch.from_numpy(value)
        for name, value in state.items()
    }
    missing = [
        name
        for name in student.load_state_dict(named, strict=False).missing_keys
        if "classifier" not in name and not name.endswith("num_batches_tracked")
    ]
    if missing:
        raise SystemExit(f"the runs' weights lack {missing[:3]}")
    return student


@torch.no_grad()
def refresh_batch_norm(student: Student, images: torch.Tensor, batch_size: int = 256) -> None:
    """Measure every batch norm layer's statistics again over ``images`` at the page's input: the mean over
    batches in a shuffled order, with dropout off as when the network predicts."""
    layers = [module for module in student.modules() if isinstance(module, nn.modules.batchnorm._BatchNorm)]
    student.eval()
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None
        layer.train()
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
    for start in range(0, len(images), batch_size):
        student(page_input(images[order[start : start + batch_size]], train=False))
    student.eval()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pack", type=Path, required=True, help="the pack the runs were trained on")
    parser.add_argument("--run", type=Path, action="append", required=True, help="a gpu_student.py folder, repeatable")
    parser.add_argument("--out", type=Path, required=True, help="folder for the soup's student.npz and run.json")
    parser.add_argument("--refresh-batch-norm", action="store_true", help="measure batch norm statistics again")
    args = parser.parse_args(argv)
    if len(args.run) < 2:
        parser.error("average at least two --run folders")
    facts = read_runs(args.run)
    pack, weights, _, parts = load_pack(args.pack, None, torch.device("cpu"))
    if pack["held_out_digest"] != facts[0]["held_out_digest"]:
        raise SystemExit(f"{args.pack} is not the pack the runs were trained on")
    student = as_student(weights, mean_state(args.run))
    if args.refresh_batch_norm:
        refresh_batch_norm(student, parts["train"][0])
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez(args.out / WEIGHTS, **student.keras_state())
    first = facts[0]
    epochs = zip(*(run["history"] for run in facts), strict=True)
    soup = {
        **{key: first[key] for key in SHARED_FACTS},
        "trained_by": f"scripts/average_students.py (the weight average of {len(facts)} scripts/gpu_student.py runs)",
        "device": first["device"],
        "arguments": {
            **recipe(first["arguments"]),
            "init_seed": initial_seed(first["arguments"]),
            "seeds": [run["arguments"]["seed"] for run in facts],
            "refresh_batch_norm": args.refresh_batch_norm,
        },
        "seconds": sum(run["seconds"] for run in facts) + time.time() - STARTED,
        "best_epoch": max(run["best_epoch"] for run in facts),
        "validation": per_type(student, parts["validation"]),
        "test": per_type(student, parts["test"]),
        "history": [
            {
                "epoch": same[0]["epoch"],
                "loss": float(np.mean([epoch["loss"] for epoch in same])),
                "balanced_accuracy": float(np.mean([epoch["balanced_accuracy"] for epoch in same])),
            }
            for same in epochs
        ],
        "runs": [{"folder": str(run), "validation": fact["validation"]} for run, fact in zip(args.run, facts)],
    }
    (args.out / RUN_FACTS).write_text(json.dumps(soup, indent=1) + "\n")
    log(f"wrote {args.out}: validation {soup['validation']}")


if __name__ == "__main__":
    main()
