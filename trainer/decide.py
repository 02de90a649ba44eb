"""``trainer decide``: choose an exported model's advice again, on its own validation split, without retraining.

The advice tiers (overall and per photo type), the class offsets of a photo type's own
(``trainer.photo_type_offsets``) and the test-time augmentation by photo type (``trainer.test_time_augmentation``)
are chosen as ``trainer build`` chooses them today, on the outputs of the
exported model itself, so a model built before a change to the decision rules gets them; with per-class offsets
in its calibration facts, the tiers score the probabilities before the offsets (``decision.referral``). The OOD
threshold, the photo-type rule and the photo checks stay as built. The test part's advice rates and the metrics
of the probabilities the page shows (validation and test, overall and per group) are measured again, and the
manifest, ``report/metrics.json``, ``report/report.html``, the confusion-matrix and ROC plots and the model card
are written anew, all or nothing; the model's own files are copied unchanged (and so is the reliability plot,
which needs the test outputs before calibration).
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from trainer.build import Parts, chosen_advice, data_facts, group_metrics, headline, part_metrics, split_of
from trainer.decision import offset_referral
from trainer.evaluate import advice_by_image_type
from trainer.export import MANIFEST_FILE, export_atomically, file_inventory, write_json
from trainer.metrics import expected_calibration_error
from trainer.model_card import write_model_card
from trainer.photo_type import photo_types
from trainer.predict import ExportedModel, ModelFolderError
from trainer.report import REPORT_FOLDER, plot_confusion_matrix, plot_roc_curves, render_html
from trainer.test_time_augmentation import VIEWS, other_view_probabilities

METRICS_FILE = "metrics.json"
KEPT_AS_BUILT = ("image_checks", "ood", "photo_type")  # fitted on training images, or chosen beside the model


def chosen_decision(model: ExportedModel, parts: Parts) -> dict:
    """The decision block ``trainer build`` would write today for this exported model, chosen on the model's own
    validation outputs (:func:`trainer.build.chosen_advice`); the rules fitted beside the network (photo checks,
    OOD, photo type) as the model has them."""
    built = model.manifest.get("decision", {})
    inputs = parts.validation.images.astype(np.float32)
    outputs = model.predict_outputs(inputs)
    routes = "photo_type" in built and outputs.clinical_probability is not None
    routed = photo_types(outputs.clinical_probability) if routes else None
    others = [] if routed is None else other_view_probabilities(model.predict_arrays, inputs, VIEWS[1:])
    decision = chosen_advice(parts.validation, outputs.probabilities, offset_referral(model.manifest), routed, others)
    return decision | {key: built[key] for key in KEPT_AS_BUILT if key in built}


def measured_again(model: ExportedModel, parts: Parts, decision: dict, metrics: dict) -> tuple[dict, np.ndarray]:
    """``metrics`` with the metrics of the probabilities the page shows under ``decision`` (validation and test,
    overall and per group, the test calibration error) and the test advice measured again; and the test
    probabilities shown."""
    shown_validation = model.page_view(parts.validation.images.astype(np.float32), decision).shown
    outputs, judgement, shown = model.page_view(parts.test.images.astype(np.float32), decision)
    test = part_metrics(parts.test, shown)
    domains = np.asarray(parts.test.domains())
    calibration = metrics["calibration"] | {"test_ece_after": expected_calibration_error(parts.test.labels, shown)}
    return metrics | {
        "validation": part_metrics(parts.validation, shown_validation),
        "validation_groups": group_metrics(parts.validation, shown_validation),
        "test": test,
        "test_groups": group_metrics(parts.test, shown),
        "test_advice": advice_by_image_type(parts.test.labels, outputs.probabilities, decision, judgement, domains),
        "calibration": calibration,
        "export": metrics.get("export", {}) | {"test_exported": headline(test)},
    }, shown


def decide(model_dir: Path, data: tuple[Path, ...]) -> dict:
    """Choose ``model_dir``'s advice again on the split of its ``data`` folders and rewrite its folder (all or
    nothing); returns the test advice before and after."""
    model = ExportedModel(model_dir)
    metrics_path = Path(model_dir) / REPORT_FOLDER / METRICS_FILE
    if not metrics_path.is_file():
        raise ModelFolderError(f"{metrics_path} not found: `trainer decide` needs the build's report")
    metrics = json.loads(metrics_path.read_text())
    if "cross_source" in metrics:
        raise ModelFolderError(
            f"{model_dir} was built with a held-out source, whose advice rates this command does not measure: "
            "rebuild it with `trainer build --weights` instead"
        )
    plan, images, parts = split_of(model.manifest, data)
    decision = chosen_decision(model, parts)
    before = metrics.get("test_advice")
    metrics, shown = measured_again(model, parts, decision, metrics)
    chosen_at = datetime.now(UTC).isoformat(timespec="seconds")
    recorded = model.manifest.get("metrics", {}) | {
        "test": {k: v for k, v in metrics["test"].items() if k != "confusion_matrix"},
        "test_by_image_type": {k: headline(v) for k, v in metrics["test_groups"]["image_type"].items()},
        "calibration": metrics["calibration"],
    }
    manifest = model.manifest | {"decision": decision, "decision_chosen_at": chosen_at, "metrics": recorded}
    facts = data_facts(plan, images)

    def write(folder: Path) -> None:
        shutil.copytree(model_dir, folder, dirs_exist_ok=True)
        report = folder / REPORT_FOLDER
        write_json(report / METRICS_FILE, metrics)
        render_html(metrics, report / "report.html")
        plot_confusion_matrix(parts.test.labels, shown, report / "confusion_matrix.png")
        plot_roc_curves(parts.test.labels, shown, report / "roc_curves.png")
        manifest["files"] = file_inventory(folder)
        write_json(folder / MANIFEST_FILE, manifest)
        write_model_card(folder, manifest, metrics, facts)

    export_atomically(Path(model_dir), write)
    return {
        "model": str(model_dir),
        "referral": "referral" in decision,
        "before": before,
        "after": metrics["test_advice"],
    }
