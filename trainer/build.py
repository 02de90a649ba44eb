"""``trainer build``: data -> split -> trained network -> calibrated outputs -> evaluation -> model folder.

Each step below takes values and returns values; :func:`build` reads top to bottom.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from trainer.calibration import (
    MIN_CROSS_FITTED_GAIN,
    OFFSET_GAIN_HALVINGS,
    cross_fitted_offset_gain,
    fit_class_offsets,
    fit_temperature,
    fold_offsets,
    fold_temperature,
    logits_model,
)
from trainer.datasets import METADATA_FILE as HAM_METADATA
from trainer.datasets import LabelledImages, load_datasets
from trainer.decision import advice_decision, referral_rule, shown_probabilities
from trainer.distribute import is_chief, strategy_for
from trainer.evaluate import advice_by_image_type
from trainer.export import (
    MANIFEST_FILE,
    build_manifest,
    export_atomically,
    load_tfjs,
    round_like_export,
    save_tfjs,
    verify_export,
    write_json,
)
from trainer.image_checks import image_check_thresholds
from trainer.info import CLASS_CODES
from trainer.intervals import scored, scored_by_group
from trainer.keras_backend import keras
from trainer.metrics import expected_calibration_error, masks_by_value
from trainer.milk10k import METADATA_FILE as MILK_METADATA
from trainer.milk10k import is_milk10k
from trainer.model_card import write_model_card
from trainer.models import build_network
from trainer.models.heads import Network
from trainer.ood import (
    feature_values,
    is_out_of_distribution,
    ood_decision,
    ood_method,
    ood_threshold,
    with_ood_output,
)
from trainer.photo_type import (
    can_learn_photo_type,
    fitted_photo_type_output,
    is_clinical,
    photo_type_decision,
    photo_types,
)
from trainer.photo_type_offsets import offsets_by_photo_type
from trainer.predict import page_view
from trainer.recipe import Recipe, recipe_for
from trainer.report import write_report
from trainer.splits import Split, make_split
from trainer.student_import import is_imported_student, load_student
from trainer.teacher import read_facts, teacher_probabilities
from trainer.test_time_augmentation import VIEWS, other_view_probabilities, views_by_photo_type
from trainer.train import TrainingResult, train_model


@dataclass(frozen=True)
class BuildPlan:
    """What to build from what: data and output folders, data handling, and the training recipe."""

    data: tuple[Path, ...]
    out: Path
    recipe: Recipe = field(default_factory=lambda: recipe_for("efficientnet-lite0"))
    limit: int | None = None
    max_per_class: int | None = None
    split: str = "grouped"
    seed: int = 0
    quantization: str = "uint8"
    holdout_source: str | None = None  # a source trained on by nobody, tested on as another clinic's data
    weights: Path | None = None  # trained weights (.h5) to reuse instead of fitting
    distribute: str = "none"  # tf.distribute strategy of training: none, mirrored or multi-worker
    cpu_replicas: int | None = None  # mirrored over this many logical CPU devices
    resume: bool = False  # go on from the last epoch backed up in the log folder
    teacher: Path | None = None  # a `trainer teach` folder whose soft labels the training targets blend in

    @property
    def log_dir(self) -> Path:
        """Where training logs and the trained Keras weights are kept, beside the output folder."""
        return self.out.resolve().parent / f".{self.out.name}.logs"


TRAINED_WEIGHTS = "trained_weights.h5"
TRAINING_FACTS = "training.json"  # beside the weights: what fitting them took, reported again when reused


@dataclass
class Parts:
    """The images of each part of the split, plus data trained on by nobody (``cross_source``)."""

    train: LabelledImages
    validation: LabelledImages
    test: LabelledImages
    cross_source: LabelledImages | None
    split: Split
    labels: np.ndarray  # of the images the split indexes
    holdout_source: str | None = None  # the source ``cross_source`` holds


@dataclass
class Outputs:
    """Calibrated probabilities of each evaluated part, and the test's before calibration."""

    validation: np.ndarray
    test: np.ndarray
    test_uncalibrated: np.ndarray
    cross_source: np.ndarray | None
    temperature: float
    class_offsets: np.ndarray  # added to the calibrated logits (zeros when they did not help)
    temperature_after_offsets: float  # refitted on the offset logits (1 without offsets)
    offset_gain: float  # cross-fitted validation balanced-accuracy gain the offsets were judged by


def build(plan: BuildPlan) -> dict:
    """Run the whole build and return the metrics written to the report."""
    started = time.monotonic()
    strategy = strategy_for(plan.distribute, plan.cpu_replicas)  # before TensorFlow runs anything
    data = load_data(plan)
    parts = split_data(plan, data)
    network, training = fit(plan, parts)
    outputs = calibrate(network.model, parts)
    metrics = evaluate(plan, parts, outputs, training)
    if is_chief(strategy):  # multi-worker: only the chief writes the model folder
        exported_model, ood = add_ood_output(network, parts, plan.quantization)
        exported_model, clinical_probability = add_photo_type_output(exported_model, parts)
        other_views = (
            []
            if clinical_probability is None
            else other_view_probabilities(lambda x: predict(network.model, x), parts.validation.images, VIEWS[1:])
        )
        decision = decide(parts, outputs, ood, clinical_probability, other_views)
        if clinical_probability is not None:
            kinds = photo_types(clinical_probability)
            shown = shown_probabilities(outputs.validation, decision, kinds, other_views)
            if not np.array_equal(shown, outputs.validation):
                metrics["validation"] = part_metrics(parts.validation, shown)
                metrics["validation_groups"] = group_metrics(parts.validation, shown)
        export_atomically(
            plan.out,
            lambda folder: write_model_folder(
                folder, plan, exported_model, parts, outputs, metrics, decision, data, started
            ),
        )
    return metrics


def load_data(plan: BuildPlan) -> LabelledImages:
    """Every ``--data`` folder, concatenated, capped per class where asked."""
    data = cap_per_class(load_datasets(list(plan.data), plan.limit, plan.seed), plan.max_per_class, plan.seed)
    print(f"loaded {len(data)} images from {data.source}: {data.class_counts()}")
    return data


def cap_per_class(data: LabelledImages, cap: int | None, seed: int) -> LabelledImages:
    """Keep at most ``cap`` random images per class (the baseline's 142-per-class data scale)."""
    if cap is None:
        return data
    rng = np.random.default_rng(seed)
    keep = np.sort(
        np.concatenate([rng.permutation(np.flatnonzero(data.labels == c))[:cap] for c in np.unique(data.labels)])
    )
    return data.subset(keep, f"{data.source}, capped at {cap} per class")


def split_data(plan: BuildPlan, data: LabelledImages) -> Parts:
    """Hold out ``--holdout-source`` whole, then split the rest by lesion, stratified by class and image type."""
    cross_source = None
    if plan.holdout_source:
        held = _source_mask(data, plan.holdout_source)
        cross_source = data.subset(np.flatnonzero(held), f"held-out source {plan.holdout_source}")
        data = data.subset(np.flatnonzero(~held))
    domains = np.unique(data.domains(), return_inverse=True)[1]
    strata = data.labels * (domains.max() + 1) + domains
    split = make_split(plan.split, data.labels, data.groups, plan.seed, strata)
    if plan.recipe.baseline_config:
        split = baseline_validation_split(split)
    print(f"split ({split.kind}): train {len(split.train)}, validation {len(split.validation)}, test {len(split.test)}")
    return Parts(
        data.subset(split.train),
        data.subset(split.validation),
        data.subset(split.test),
        cross_source,
        split,
        data.labels,
        plan.holdout_source,
    )


class SplitMismatchError(ValueError):
    """The ``--data`` folders give another split than the one a model folder was built on."""


def split_of(manifest: dict, data: tuple[Path, ...]) -> tuple[BuildPlan, LabelledImages, Parts]:
    """The build plan, images and split a model was built with, recomputed from its ``--data`` folders and its
    manifest's split facts (with the source it held out); raises :class:`SplitMismatchError` when they give other
    counts than it records."""
    recorded = manifest["training_data"]["split"]
    plan = BuildPlan(
        data=tuple(data),
        out=Path(),
        split=recorded["kind"],
        seed=recorded["seed"],
        holdout_source=recorded.get("holdout_source"),
    )
    images = load_data(plan)
    parts = split_data(plan, images)
    check_split(manifest, parts)
    return plan, images, parts


def check_split(manifest: dict, parts: Parts) -> None:
    """Raise :class:`SplitMismatchError` when ``parts`` give other counts than the model's manifest records."""
    recorded = manifest["training_data"]["split"]
    again = _split_summary(parts)
    for key in ("counts", "images_by_type"):
        if key in recorded and again[key] != recorded[key]:
            raise SplitMismatchError(
                f"these --data folders give other split {key.replace('_', ' ')} ({again[key]}) than the model "
                f"was built on ({recorded[key]}): pass the build's own --data folders, in its order"
            )


def _source_mask(data: LabelledImages, source: str) -> np.ndarray:
    for key in ("source", "dataset"):
        mask = np.array([value == source for value in data.meta.get(key, [])], dtype=bool)
        if mask.any():
            return mask
    known = sorted(set(data.meta.get("source", [])) | set(data.meta.get("dataset", [])))
    raise ValueError(f"--holdout-source {source!r} matches no image; sources here: {known}")


def baseline_validation_split(split: Split) -> Split:
    """The baseline's ``fit(validation_split=0.4)``: the last 40% of the (shuffled) training part validates."""
    train = np.random.default_rng(split.seed).permutation(split.train)  # the baseline's came shuffled
    cut = round(len(train) * 0.6)
    note = split.note + "; validation = last 40% of train, as Keras validation_split=0.4"
    return Split(train[:cut], train[cut:], split.test, split.kind, split.seed, note)


def network_for(recipe: Recipe) -> Network:
    """A fresh network of the recipe's architecture and input options."""
    return build_network(recipe.arch, recipe.upsample, recipe.colour_constancy)


def fit(plan: BuildPlan, parts: Parts) -> tuple[Network, TrainingResult]:
    """Train a fresh network (or load ``--weights``) and keep its weights beside the output folder."""
    network = network_for(plan.recipe)
    if plan.weights and is_imported_student(plan.weights):
        training = load_student(network.model, plan.weights, plan.recipe, parts.train.image_ids, held_out_ids(parts))
        print(f"loaded the student {plan.weights} ({training.trained_by['device']}): no training")
        return network, training
    if plan.weights:
        network.model.load_weights(plan.weights)
        print(f"reused trained weights {plan.weights}: no training")
        return network, reused_training(plan)
    shown = parts.train.with_repeats("clinical", plan.recipe.clinical_repeats)
    train, validation = (shown.images, shown.labels), (parts.validation.images, parts.validation.labels)
    teacher = teacher_probabilities(plan.teacher, shown.image_ids, held_out_ids(parts)) if plan.teacher else None
    strategy = strategy_for(plan.distribute, plan.cpu_replicas)
    with strategy.scope():  # distributed: a twin trains under the strategy, ``network`` stays off it
        trained = network if plan.distribute == "none" else network_for(plan.recipe)
        result = train_model(trained, train, validation, plan.recipe, plan.log_dir, plan.seed, plan.resume, teacher)
    if trained is not network:  # predicting and exporting then need no other replica or worker
        network.model.set_weights(trained.model.get_weights())
    if is_chief(strategy):
        network.model.save_weights(plan.log_dir / TRAINED_WEIGHTS)
        write_json(plan.log_dir / TRAINING_FACTS, {"recipe": asdict(plan.recipe), **asdict(result)})
    return network, result


def held_out_ids(parts: Parts) -> list[str]:
    """Ids of every image no training may see: validation, test and any held-out source."""
    cross_source = parts.cross_source.image_ids if parts.cross_source else []
    return parts.validation.image_ids + parts.test.image_ids + cross_source


def saved_training(weights: Path) -> tuple[Recipe, TrainingResult] | None:
    """The recipe and training facts a build saved beside its ``trained_weights.h5``, or None."""
    path = Path(weights).with_name(TRAINING_FACTS)
    if not path.is_file():
        return None
    facts = json.loads(path.read_text())
    return Recipe(**facts.pop("recipe")), TrainingResult(**facts)


def reused_training(plan: BuildPlan) -> TrainingResult:
    """The training facts saved beside ``--weights`` (empty when none were), refusing weights of another recipe."""
    saved = saved_training(plan.weights)
    if saved is None:
        return TrainingResult()
    recipe, result = saved
    if asdict(recipe) != asdict(plan.recipe):  # fields added since default alike
        facts = plan.weights.with_name(TRAINING_FACTS)
        raise ValueError(f"{plan.weights} was trained with another recipe than this build's (see {facts})")
    return result


def predict(model: keras.Model, images: np.ndarray) -> np.ndarray:
    """Probabilities for uint8 or float images, in batches."""
    return model.predict(images.astype(np.float32), batch_size=64, verbose=0)


def calibrate(model: keras.Model, parts: Parts) -> Outputs:
    """Fit a temperature on validation logits, then per-class offsets where they raise held-out balanced
    accuracy, then (offsets kept) a second temperature on the offset logits, since offsets chosen for balanced
    accuracy shift the probabilities away from calibrated; fold all into the model and predict every part."""
    validation_logits = logits_model(model).predict(parts.validation.images.astype(np.float32), verbose=0)
    test_uncalibrated = predict(model, parts.test.images)
    temperature = fit_temperature(validation_logits, parts.validation.labels)
    fold_temperature(model, temperature)
    log_probabilities = np.log(np.clip(predict(model, parts.validation.images), 1e-12, 1.0))
    gain = cross_fitted_offset_gain(log_probabilities, parts.validation.labels, parts.validation.groups)
    offsets, temperature_after_offsets = np.zeros(log_probabilities.shape[1]), 1.0
    if gain >= MIN_CROSS_FITTED_GAIN:
        offsets = fit_class_offsets(log_probabilities, parts.validation.labels)
        fold_offsets(model, offsets)
        temperature_after_offsets = fit_temperature(log_probabilities + offsets, parts.validation.labels)
        fold_temperature(model, temperature_after_offsets)
    print(
        f"temperature {temperature:.3f}; offsets {np.round(offsets, 2).tolist()} (cross-fitted gain {gain:+.3f}); "
        f"temperature after offsets {temperature_after_offsets:.3f}"
    )
    cross_source = predict(model, parts.cross_source.images) if parts.cross_source else None
    return Outputs(
        predict(model, parts.validation.images),
        predict(model, parts.test.images),
        test_uncalibrated,
        cross_source,
        temperature,
        offsets,
        temperature_after_offsets,
        gain,
    )


def part_metrics(images: LabelledImages, probabilities: np.ndarray) -> dict:
    """Metrics of one split part with their lesion-grouped 95% intervals."""
    return scored(images.labels, probabilities, images.groups)


def group_metrics(images: LabelledImages, probabilities: np.ndarray) -> dict:
    """Metrics per image type (``"<dataset> <image type>"``) and per skin-tone class, for groups large enough,
    with their intervals."""
    groupings = {"image_type": images.domains(), "skin_tone": images.meta.get("skin_tone", [])}
    return scored_by_group(images.labels, probabilities, groupings, images.groups)


def evaluate(plan: BuildPlan, parts: Parts, outputs: Outputs, training: TrainingResult) -> dict:
    """Test, validation and cross-source metrics, per image type and skin tone, calibration and training facts."""
    test_labels = parts.test.labels
    metrics = {
        "architecture": plan.recipe.arch,
        "test": part_metrics(parts.test, outputs.test),
        "test_groups": group_metrics(parts.test, outputs.test),
        "validation": part_metrics(parts.validation, outputs.validation),
        "validation_groups": group_metrics(parts.validation, outputs.validation),
        "calibration": {
            "temperature": outputs.temperature,
            "temperature_after_offsets": outputs.temperature_after_offsets,
            "test_ece_before": expected_calibration_error(test_labels, outputs.test_uncalibrated),
            "test_ece_after": expected_calibration_error(test_labels, outputs.test),
            "class_offsets": dict(zip(CLASS_CODES, outputs.class_offsets.round(3).tolist())),
            "class_offsets_cross_fitted_gain": outputs.offset_gain,
            "class_offsets_rule": f"kept when the cross-fitted validation balanced-accuracy gain (fitted on one "
            f"half of the validation lesions, scored on the other, over {OFFSET_GAIN_HALVINGS} halvings) >= "
            f"{MIN_CROSS_FITTED_GAIN}",
        },
        "split": _split_summary(parts),
        "training": {
            "recipe": training.trained_by.get("recipe") or asdict(plan.recipe),
            "seconds": training.seconds,
            "images_per_second": training.images_per_second,
            "best_epoch": training.best_epoch,
            "best_val_balanced_accuracy_before_calibration": training.best_val_balanced_accuracy,
            "epochs_run": len(training.history.get("loss", [])),
            "machine": training.trained_by.get("device") or f"{platform.machine()}, {os.cpu_count() or 1} CPU cores",
            "reused_weights": str(plan.weights) if plan.weights else None,
            "teacher": teacher_summary(plan.teacher) if plan.teacher else None,
            "trained_by": training.trained_by or None,
            "distribution": training.distribution,
        },
        "history": training.history,
    }
    if parts.cross_source is not None:
        metrics["cross_source"] = {
            "source": plan.holdout_source,
            **part_metrics(parts.cross_source, outputs.cross_source),
        }
    return metrics


def teacher_summary(folder: Path) -> dict:
    """Which teacher taught the student, and how well it did on validation."""
    facts = read_facts(folder)
    return {
        "folder": str(folder),
        "description": facts["description"],
        "members": [member["weights"] for member in facts["members"]],
        "validation": facts["validation"],
    }


def _split_summary(parts: Parts) -> dict:
    summary = parts.split.summary(parts.labels)
    if parts.cross_source is not None:
        summary["counts"]["cross_source"] = parts.cross_source.class_counts()
        summary["holdout_source"] = parts.holdout_source
    by_type = {
        name: dict(zip(*np.unique(images.domains(), return_counts=True)))
        for name, images in (("train", parts.train), ("validation", parts.validation), ("test", parts.test))
    }
    summary["images_by_type"] = {name: {k: int(v) for k, v in counts.items()} for name, counts in by_type.items()}
    return summary


def add_ood_output(network: Network, parts: Parts, quantization: str) -> tuple[keras.Model, dict]:
    """The export-ready model, its weights rounded as the export stores them, with a second output: the
    Mahalanobis OOD score fitted on training features (trainer.ood); and the decision's ``ood`` entry, its
    threshold chosen on validation."""
    model = network.inference_model()
    round_like_export(model, quantization)
    features = feature_values(model, parts.train.images)
    method = ood_method(model)
    model = with_ood_output(model, features, parts.train.labels)
    validation_scores = predict(model, parts.validation.images)[1]
    return model, ood_decision(ood_threshold(validation_scores), validation_scores, method=method)


def add_photo_type_output(model: keras.Model, parts: Parts) -> tuple[keras.Model, np.ndarray | None]:
    """Where training holds both photo types: ``model`` with one more output, the probability of a clinical
    close-up, fitted on training features, and that output on the validation photos; else ``model`` and None."""
    types = parts.train.meta.get("image_type")
    if not can_learn_photo_type(types):
        return model, None
    model = fitted_photo_type_output(model, parts.train.images, types)
    return model, predict(model, parts.validation.images)[-1]


def chosen_advice(
    validation: LabelledImages,
    probabilities: np.ndarray,
    referral: dict | None,
    routed: np.ndarray | None,
    other_views: list[np.ndarray],
    extra: dict | None = None,
) -> dict:
    """The advice part of the decision block, chosen on the validation ``probabilities``: the page's advice tiers
    (per photo type too where the photos are ``routed``; ``extra``: more labelled parts to rate them on), with
    class offsets of a photo type's own and test-time augmentation for a photo type where they pass their rules
    (``other_views``: the validation probabilities of each view after the first)."""
    own = (
        None
        if routed is None
        else offsets_by_photo_type(validation.labels, probabilities, referral, routed, validation.groups)
    )
    decision = advice_decision(validation.labels, probabilities, validation.domains(), referral, routed, extra)
    if own:
        decision["offsets_by_photo_type"] = own
    views = (
        None if routed is None else views_by_photo_type(validation.labels, probabilities, other_views, decision, routed)
    )
    if views:
        decision["test_time_augmentation"] = views
    return decision


def decide(
    parts: Parts,
    outputs: Outputs,
    ood: dict,
    clinical_probability: np.ndarray | None,
    other_views: list[np.ndarray],
) -> dict:
    """The manifest's decision block, chosen on validation: :func:`chosen_advice` (the tiers scored before the
    class offsets, where there are any; rates also on the held-out source), the photo-check limits, the OOD
    threshold and the photo-type rule."""
    validation = parts.validation
    extra = {"cross_source": (parts.cross_source.labels, outputs.cross_source)} if parts.cross_source else None
    referral = referral_rule(outputs.class_offsets, outputs.temperature_after_offsets)
    routed = None if clinical_probability is None else photo_types(clinical_probability)
    decision = chosen_advice(validation, outputs.validation, referral, routed, other_views, extra)
    decision["image_checks"] = image_check_thresholds(validation.images)
    decision["ood"] = ood
    if clinical_probability is not None:
        decision["photo_type"] = photo_type_decision(clinical_probability, is_clinical(validation.meta["image_type"]))
    return decision


def ood_rates(model_outputs: dict[str, tuple[LabelledImages, np.ndarray]], threshold: float) -> dict:
    """Share of images flagged out of distribution, per evaluated part and per image type."""
    rates = {}
    for name, (images, scores) in model_outputs.items():
        flagged = is_out_of_distribution(scores, threshold)
        rates[name] = {"all": float(flagged.mean())} | {
            d: float(flagged[members].mean()) for d, members in masks_by_value(images.domains()).items()
        }
    return rates


def write_model_folder(
    folder: Path,
    plan: BuildPlan,
    exported_model: keras.Model,
    parts: Parts,
    outputs: Outputs,
    metrics: dict,
    decision: dict,
    data: LabelledImages,
    started: float,
) -> None:
    """Export, check the reloaded export against Keras, and write report, manifest and model card into ``folder``."""
    save_tfjs(exported_model, folder, plan.quantization)
    reloaded = load_tfjs(folder)
    reloaded_outputs = predict(reloaded, parts.test.images)
    named, judgement, exported = page_view(reloaded, parts.test.images.astype(np.float32), decision)
    scores = named.ood_scores
    metrics["export"] = {
        "quantization": plan.quantization,
        "max_abs_probability_difference": verify_export(reloaded_outputs, predict(exported_model, parts.test.images)),
        "test_keras_float32": headline(metrics["test"]),
    }
    metrics["calibration"]["test_ece_after"] = expected_calibration_error(parts.test.labels, exported)
    metrics["test"] = part_metrics(parts.test, exported)
    metrics["test_groups"] = group_metrics(parts.test, exported)
    metrics["export"]["test_exported"] = headline(metrics["test"])
    evaluated = {"test": (parts.test, scores)}
    if parts.cross_source is not None:
        cross, _, shown = page_view(reloaded, parts.cross_source.images.astype(np.float32), decision)
        evaluated["cross_source"] = (parts.cross_source, cross.ood_scores)
        if not np.array_equal(shown, cross.probabilities):
            metrics["cross_source"] |= part_metrics(parts.cross_source, shown)
    metrics["ood"] = {
        "threshold": decision["ood"]["threshold"],
        "flagged": ood_rates(evaluated, decision["ood"]["threshold"]),
    }
    metrics["test_advice"] = advice_by_image_type(
        parts.test.labels, named.probabilities, decision, judgement, np.asarray(parts.test.domains())
    )
    metrics["training"]["build_seconds"] = time.monotonic() - started
    write_report(folder, metrics, parts.test.labels, outputs.test_uncalibrated, exported)
    model_info = {
        "architecture": plan.recipe.arch,
        "input_shape": list(exported_model.input_shape[1:]),
        "output": "[softmax probabilities in class order (temperature-calibrated), out-of-distribution score"
        + (", probability of a clinical close-up]" if len(exported_model.outputs) > 2 else "]"),
        "parameters": int(exported_model.count_params()),
        "quantization": plan.quantization,
        "recipe": asdict(plan.recipe),
    }
    extra = {
        "training_data": {
            "source": data.source,
            "images": len(data),
            "class_counts": data.class_counts(),
            "split": metrics["split"],
        },
        "metrics": {
            "test": {k: v for k, v in metrics["test"].items() if k != "confusion_matrix"},
            "test_by_image_type": {k: headline(v) for k, v in metrics["test_groups"]["image_type"].items()},
            "calibration": metrics["calibration"],
        },
        "decision": decision,
    }
    manifest = build_manifest(folder, model_info, extra)
    write_json(folder / MANIFEST_FILE, manifest)
    write_model_card(folder, manifest, metrics, data_facts(plan, data))


def data_facts(plan: BuildPlan, data: LabelledImages) -> dict:
    """What the model card says about the training data: each folder's metadata summary and the skin-tone mix."""
    from trainer.data_summary import summarise_ham_metadata, summarise_milk_metadata
    from trainer.skin_tone import ita_per_image, skin_tone_summary

    summaries = []
    for folder in plan.data:
        if (folder / HAM_METADATA).is_file():
            summaries.append(summarise_ham_metadata(folder / HAM_METADATA))
        elif is_milk10k(folder):
            summaries.append(summarise_milk_metadata(folder / MILK_METADATA))
    tones = skin_tone_summary(ita_per_image(data.images), data.domains(), data.meta.get("skin_tone"))
    return {"datasets": summaries, "skin_tone": tones}


def headline(metrics: dict) -> dict:
    """The few numbers quoted everywhere: accuracy, balanced accuracy, macro AUC, ECE, melanoma recall."""
    keys = ("n", "accuracy", "balanced_accuracy", "macro_auc", "ece")
    figures = {k: metrics[k] for k in keys} | {"mel_recall": metrics["per_class"]["mel"]["recall"]}
    if "intervals" in metrics:
        figures["intervals"] = {k: metrics["intervals"][k] for k in ("balanced_accuracy", "macro_auc", "mel_recall")}
    return figures
