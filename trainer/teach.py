"""``trainer teach``: trained networks become a distillation teacher (trainer/teacher.py).

Two kinds of teacher, both trained on the split this command makes (same ``--data``, ``--seed``, ``--split``
and ``--holdout-source``):

- members: ``trained_weights.h5`` files that ``trainer build`` kept beside its model folders, each with the
  ``training.json`` that names its recipe;
- cross-fitted runs: ``logits.npz`` files of scripts/gpu_teacher.py, trained on a GPU from the pack that
  ``--pack`` writes (trainer/teacher_pack.py); each training image is labelled by networks that did not
  train on it;
- exported model folders of this split: their calibrated probabilities before their class offsets, on images
  they trained on (born-again distillation, when the teacher that taught them is gone). With
  ``--student-start FILE``, one such model's network is also written for ``scripts/gpu_student.py --start``,
  which fine-tunes it instead of starting from ImageNet weights.

Each member or run gets a temperature fitted on validation; the ensemble averages the calibrated
log-probabilities and gets a temperature of its own, so the cached soft labels are calibrated probabilities.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
from scipy.special import log_softmax, softmax

from trainer.build import (
    TRAINING_FACTS,
    BuildPlan,
    Parts,
    check_split,
    held_out_ids,
    load_data,
    network_for,
    saved_training,
    split_data,
    split_of,
)
from trainer.calibration import fit_temperature, logits_model
from trainer.decision import offset_referral, referral_probabilities
from trainer.export import export_atomically, load_tfjs
from trainer.metrics import classification_metrics, masks_by_value
from trainer.models.efficientnet_lite import folded_state
from trainer.predict import ExportedModel
from trainer.recipe import Recipe
from trainer.teacher import TeacherError, held_out_digest, write_teacher
from trainer.teacher_pack import image_files, read_cross_fitted, write_backbone, write_pack

SPLIT_FLAGS = ("split", "seed", "holdout_source", "limit", "max_per_class")  # with --data, they fix the split


def member_recipe(weights: Path) -> Recipe:
    """The recipe a member was trained with, from the ``training.json`` beside its weights."""
    saved = saved_training(weights)
    if saved is None:
        raise FileNotFoundError(f"{weights}: no {TRAINING_FACTS} beside it to say which network it is")
    return saved[0]


def member_logits(weights: Path, parts: Parts) -> dict[str, np.ndarray]:
    """A member's logits on the training and validation images."""
    network = network_for(member_recipe(weights))
    network.model.load_weights(weights)
    view = logits_model(network.model)
    return {
        name: view.predict(getattr(parts, name).images.astype(np.float32), batch_size=64, verbose=0)
        for name in ("train", "validation")
    }


def calibrated_log_probabilities(logits: np.ndarray, temperature: float) -> np.ndarray:
    """log softmax(logits / T)."""
    return log_softmax(logits / temperature, axis=1)


def scores(labels: np.ndarray, probabilities: np.ndarray, domains: list[str]) -> dict:
    """Balanced accuracy and macro AUC, overall and per image type."""
    groups = {"all": np.ones(len(labels), bool)} | masks_by_value(domains)
    metrics = {name: classification_metrics(labels[mask], probabilities[mask]) for name, mask in groups.items()}
    return {name: {key: group[key] for key in ("balanced_accuracy", "macro_auc")} for name, group in metrics.items()}


def teach(plan: BuildPlan, members: list[Path]) -> dict:
    """Write the ensemble's soft labels for every training image into ``plan.out``; return its facts."""
    parts = split_data(plan, load_data(plan))
    labels = parts.validation.labels
    train_log_probabilities, validation_log_probabilities, member_facts = [], [], []
    for weights in members:
        logits = member_logits(weights, parts)
        temperature = fit_temperature(logits["validation"], labels)
        validation = calibrated_log_probabilities(logits["validation"], temperature)
        train_log_probabilities.append(calibrated_log_probabilities(logits["train"], temperature))
        validation_log_probabilities.append(validation)
        validation_scores = scores(labels, np.exp(validation), parts.validation.domains())
        member_facts.append({"weights": str(weights), "temperature": temperature, "validation": validation_scores})
        print(f"member {weights}: validation balanced accuracy {validation_scores['all']['balanced_accuracy']:.3f}")
    description = f"an ensemble of {len(members)} networks trained on the same split"
    return _write_ensemble(
        plan, parts, train_log_probabilities, validation_log_probabilities, member_facts, description
    )


def teach_cross_fitted(plan: BuildPlan, runs: list[Path]) -> dict:
    """Like :func:`teach`, from scripts/gpu_teacher.py's out-of-fold logits: each run is one member."""
    parts = split_data(plan, load_data(plan))
    held_out = held_out_ids(parts)
    arrays = [read_cross_fitted(run, parts.train, parts.validation, held_out) for run in runs]
    folds = min(len(run["validation"]) for run in arrays)
    labels = np.tile(parts.validation.labels, folds)
    train_log_probabilities, validation_log_probabilities, member_facts = [], [], []
    for path, run in zip(runs, arrays):
        fold_logits = np.concatenate(run["validation"][:folds])  # every fold network on the validation images
        temperature = fit_temperature(fold_logits, labels)
        train_log_probabilities.append(calibrated_log_probabilities(run["oof"], temperature))
        validation_log_probabilities.append(calibrated_log_probabilities(fold_logits, temperature))
        out_of_fold = scores(parts.train.labels, softmax(run["oof"] / temperature, axis=1), parts.train.domains())
        member_facts.append(
            {"weights": str(path), "folds": len(run["validation"]), "temperature": temperature}
            | {"network": str(run["network"]), "out_of_fold": out_of_fold}
        )
        print(f"run {path}: out-of-fold balanced accuracy {out_of_fold['all']['balanced_accuracy']:.3f}")
    description = (
        f"{len(runs)} cross-fitted run(s) of {folds} networks each ({arrays[0]['network']}), every training "
        f"image labelled by the {len(runs)} network(s) that did not train on it"
    )
    return _write_ensemble(
        plan, parts, train_log_probabilities, validation_log_probabilities, member_facts, description, folds
    )


def exported_log_probabilities(model: ExportedModel, images: np.ndarray) -> np.ndarray:
    """An exported model's log-probabilities before its class offsets (its advice's ``referral`` rule)."""
    decision = {"referral": offset_referral(model.manifest)}
    probabilities = referral_probabilities(model.predict_arrays(images.astype(np.float32)), decision)
    return np.log(np.clip(probabilities, 1e-12, 1.0))


def teach_from_models(plan: BuildPlan, model_dirs: list[Path]) -> dict:
    """Like :func:`teach`, from exported model folders built on this split: each one's temperature-calibrated
    probabilities before its class offsets (undone as the advice's ``referral`` rule undoes them). They trained
    on these images, so their soft labels are in-sample."""
    models = [ExportedModel(model_dir) for model_dir in model_dirs]
    for model_dir, model in zip(model_dirs, models):
        recorded = model.manifest["training_data"]["split"]
        if (plan.split, plan.seed) != (recorded["kind"], recorded["seed"]) or any(
            getattr(plan, flag) for flag in ("holdout_source", "limit", "max_per_class")
        ):
            raise TeacherError(
                f"{model_dir} was built on the {recorded['kind']} split of seed {recorded['seed']} of all its "
                "--data images: teach with that split"
            )
    parts = split_of(models[0].manifest, plan.data)[2]
    for model in models[1:]:
        check_split(model.manifest, parts)
    train_log_probabilities, validation_log_probabilities, member_facts = [], [], []
    for model_dir, model in zip(model_dirs, models):
        validation = exported_log_probabilities(model, parts.validation.images)
        train_log_probabilities.append(exported_log_probabilities(model, parts.train.images))
        validation_log_probabilities.append(validation)
        validation_scores = scores(parts.validation.labels, np.exp(validation), parts.validation.domains())
        member_facts.append({"weights": str(model_dir), "validation": validation_scores})
        print(f"model {model_dir}: validation balanced accuracy {validation_scores['all']['balanced_accuracy']:.3f}")
    names = ", ".join(str(model_dir) for model_dir in model_dirs)
    description = f"the exported model(s) {names}, before their class offsets, on images they trained on"
    return _write_ensemble(
        plan, parts, train_log_probabilities, validation_log_probabilities, member_facts, description
    )


STUDENT_ARCHITECTURE_FLAGS = ("arch", "upsample", "colour_constancy")  # what scripts/gpu_student.py checks


def write_student_start(model_dir: Path, path: Path, held_out: str) -> None:
    """An exported EfficientNet-Lite0 model's network under scripts/gpu_student.py's names (its batch norms
    folded into identities, its weights de-quantised), with its architecture and its split's ``held_out``
    digest (the script refuses a pack of another split), for that script's ``--start``."""
    recipe = json.loads((Path(model_dir) / "manifest.json").read_text())["model"]["recipe"]
    if recipe["arch"] != "efficientnet-lite0":
        raise TeacherError(
            f"{model_dir} is a {recipe['arch']} network; scripts/gpu_student.py trains efficientnet-lite0"
        )
    architecture = {flag: recipe[flag] for flag in STUDENT_ARCHITECTURE_FLAGS}
    partial = path.with_name(f"{path.stem}.partial.npz")
    facts = {"architecture": np.array(json.dumps(architecture)), "held_out_digest": np.array(held_out)}
    np.savez(partial, **facts, **folded_state(load_tfjs(model_dir)))
    partial.replace(path)


def _write_ensemble(
    plan: BuildPlan,
    parts: Parts,
    train_log_probabilities: list[np.ndarray],
    validation_log_probabilities: list[np.ndarray],
    member_facts: list[dict],
    description: str,
    validation_repeats: int = 1,
) -> dict:
    """Average the members' calibrated log-probabilities, fit the ensemble's temperature, write the folder.

    ``validation_repeats``: the members' validation rows hold that many copies of the validation images
    (one per fold network of a cross-fitted run).
    """
    labels = np.tile(parts.validation.labels, validation_repeats)
    domains = parts.validation.domains() * validation_repeats
    ensemble_validation = np.mean(validation_log_probabilities, axis=0)
    temperature = fit_temperature(ensemble_validation, labels)
    validation_scores = scores(labels, softmax(ensemble_validation / temperature, axis=1), domains)
    print(f"{description}: validation balanced accuracy {validation_scores['all']['balanced_accuracy']:.3f}")
    facts = {
        "description": description,
        "members": member_facts,
        "ensemble_temperature": temperature,
        "validation": validation_scores,
        "training_images": len(parts.train),
        "held_out_digest": held_out_digest(held_out_ids(parts)),
        "split": {"data": [str(folder) for folder in plan.data]}
        | {key: value for key, value in asdict(plan).items() if key in SPLIT_FLAGS},
    }
    probabilities = softmax(np.mean(train_log_probabilities, axis=0) / temperature, axis=1)
    export_atomically(plan.out, lambda folder: write_teacher(folder, parts.train.image_ids, probabilities, facts))
    return facts


def pack(plan: BuildPlan, backbone: Path, images: str = "webp") -> dict:
    """Write this split's images (trainer.teacher_pack.PACK_IMAGES) and ``backbone``'s ImageNet weights into
    ``plan.out`` for scripts/gpu_teacher.py or scripts/gpu_student.py."""
    parts = split_data(plan, load_data(plan))
    named = {"train": parts.train, "validation": parts.validation, "test": parts.test}
    files = image_files(list(plan.data))

    def write(folder: Path) -> None:
        write_pack(folder, named, files, held_out_ids(parts), backbone.stem, images)
        write_backbone(folder, backbone)

    export_atomically(plan.out, write)
    return {name: len(part) for name, part in named.items()}
