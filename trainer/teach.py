"""``trainer teach``: an ensemble of trained networks becomes a distillation teacher (trainer/teacher.py).

Each member is a ``trained_weights.h5`` that ``trainer build`` kept beside its model folder, with the
``training.json`` that names its recipe. Members must have been trained on the split this command makes
(same ``--data``, ``--seed``, ``--split`` and ``--holdout-source``). Each member's logits get a temperature
fitted on validation; the ensemble averages the calibrated log-probabilities and gets a temperature of its
own, so the cached soft labels are calibrated probabilities.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
from scipy.special import log_softmax, softmax

from trainer.build import TRAINING_FACTS, BuildPlan, Parts, held_out_ids, load_data, network_for, split_data
from trainer.calibration import fit_temperature, logits_model
from trainer.export import export_atomically
from trainer.metrics import classification_metrics, masks_by_value
from trainer.recipe import Recipe
from trainer.teacher import held_out_digest, write_teacher

SPLIT_FLAGS = ("split", "seed", "holdout_source", "limit", "max_per_class")  # with --data, they fix the split


def member_recipe(weights: Path) -> Recipe:
    """The recipe a member was trained with, from the ``training.json`` beside its weights."""
    path = Path(weights).with_name(TRAINING_FACTS)
    if not path.is_file():
        raise FileNotFoundError(f"{weights}: no {TRAINING_FACTS} beside it to say which network it is")
    return Recipe(**json.loads(path.read_text())["recipe"])


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
    labels, domains = parts.validation.labels, parts.validation.domains()
    train_log_probabilities, validation_log_probabilities, member_facts = [], [], []
    for weights in members:
        logits = member_logits(weights, parts)
        temperature = fit_temperature(logits["validation"], labels)
        validation = calibrated_log_probabilities(logits["validation"], temperature)
        train_log_probabilities.append(calibrated_log_probabilities(logits["train"], temperature))
        validation_log_probabilities.append(validation)
        validation_scores = scores(labels, np.exp(validation), domains)
        member_facts.append({"weights": str(weights), "temperature": temperature, "validation": validation_scores})
        print(f"member {weights}: validation balanced accuracy {validation_scores['all']['balanced_accuracy']:.3f}")
    ensemble_validation = np.mean(validation_log_probabilities, axis=0)
    temperature = fit_temperature(ensemble_validation, labels)
    validation_scores = scores(labels, softmax(ensemble_validation / temperature, axis=1), domains)
    ensemble_score = validation_scores["all"]["balanced_accuracy"]
    print(f"ensemble of {len(members)}: validation balanced accuracy {ensemble_score:.3f}")
    facts = {
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
