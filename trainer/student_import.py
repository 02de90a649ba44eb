"""A student network trained outside Keras (``scripts/gpu_student.py`` on a GPU), loaded into a build's network.

The script saves the network's weights under PyTorch names (``student.npz``) and what the training took
(``run.json``) beside them. ``trainer build --weights RUN/student.npz`` loads them only when they fit the
build: the same architecture and input options as its recipe, trained on this build's split (the pack's
fingerprints of the held-out images and of the training order); the build then calibrates, exports and
reports as for weights it trained itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from trainer.keras_backend import keras
from trainer.models.efficientnet_lite import load_trained_state
from trainer.recipe import Recipe
from trainer.teacher import held_out_digest
from trainer.teacher_pack import order_digest
from trainer.train import TrainingResult

STUDENT_SUFFIX = ".npz"
RUN_FACTS = "run.json"


class StudentError(ValueError):
    """Weights from scripts/gpu_student.py that do not fit this build; the message says why."""


def is_imported_student(weights: Path) -> bool:
    """Whether ``--weights`` names a student saved by scripts/gpu_student.py (not a Keras .h5)."""
    return Path(weights).suffix == STUDENT_SUFFIX


def load_student(
    model: keras.Model, weights: Path, recipe: Recipe, train_ids: list[str], held_out_ids: list[str]
) -> TrainingResult:
    """Load the student into ``model`` and return its training facts, refusing one that does not fit."""
    facts_path = Path(weights).with_name(RUN_FACTS)
    if not facts_path.is_file():
        raise StudentError(f"{weights}: no {RUN_FACTS} beside it; keep the folder scripts/gpu_student.py wrote")
    facts = json.loads(facts_path.read_text())
    wanted = {"arch": recipe.arch, "upsample": recipe.upsample, "colour_constancy": recipe.colour_constancy}
    if facts["architecture"] != wanted:
        raise StudentError(f"{weights} is a {facts['architecture']} network; this build's recipe makes {wanted}")
    if facts["held_out_digest"] != held_out_digest(held_out_ids):
        raise StudentError(
            f"{weights} was trained on another split's pack: its training may hold this build's "
            "validation or test images"
        )
    if facts["train_order_digest"] != order_digest(train_ids):
        raise StudentError(f"{weights} was trained on other training images than this build's")
    with np.load(weights) as state:
        load_trained_state(model, {name: state[name] for name in state.files})
    history = facts["history"]
    return TrainingResult(
        history={
            "loss": [epoch["loss"] for epoch in history],
            "val_balanced_accuracy": [epoch["balanced_accuracy"] for epoch in history],
        },
        best_epoch=facts["best_epoch"],
        best_val_balanced_accuracy=facts["validation"]["all"]["balanced_accuracy"],
        seconds=facts["seconds"],
        trained_by={
            "script": facts["trained_by"],
            "device": facts["device"],
            "teacher": facts["teacher"],
            "recipe": {**facts["architecture"], **_recipe_arguments(facts["arguments"])},
        },
    )


def _recipe_arguments(arguments: dict) -> dict:
    """The script's arguments that shape the weights (not its file paths or quick-check limit)."""
    return {key: value for key, value in arguments.items() if key not in ("pack", "teacher", "out", "limit")}
