"""``trainer decide``: choose an exported model's advice again, on its own validation split, without retraining.

The advice tiers (overall and per photo type) are chosen as ``trainer build`` chooses them today, on the outputs
of the exported model itself, so a model built before a change to the decision rules gets them; with per-class
offsets in its calibration facts, the tiers score the probabilities before the offsets (``decision.referral``).
The OOD threshold, the photo-type rule and the photo checks stay as built. The test part's advice rates are
measured again, and the manifest, ``report/metrics.json``, ``report/report.html`` and the model card are written
anew, all or nothing; the model's own files are copied unchanged.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from trainer.build import Parts, data_facts, split_of
from trainer.decision import advice_decision, offset_referral
from trainer.evaluate import advice_by_image_type
from trainer.export import MANIFEST_FILE, export_atomically, file_inventory, write_json
from trainer.model_card import write_model_card
from trainer.photo_type import photo_types
from trainer.predict import ExportedModel, ModelFolderError, judge
from trainer.report import REPORT_FOLDER, render_html

METRICS_FILE = "metrics.json"
KEPT_AS_BUILT = ("image_checks", "ood", "photo_type")  # fitted on training images, or chosen beside the model


def chosen_decision(model: ExportedModel, parts: Parts) -> dict:
    """The decision block ``trainer build`` would write today for this exported model, chosen on the model's own
    validation outputs; the rules fitted beside the network (photo checks, OOD, photo type) as the model has them."""
    built = model.manifest.get("decision", {})
    validation = parts.validation
    outputs = model.predict_outputs(validation.images.astype(np.float32))
    routes = "photo_type" in built and outputs.clinical_probability is not None
    decision = advice_decision(
        validation.labels,
        outputs.probabilities,
        validation.domains(),
        offset_referral(model.manifest),
        photo_types(outputs.clinical_probability) if routes else None,
    )
    return decision | {key: built[key] for key in KEPT_AS_BUILT if key in built}


def advice_on_test(model: ExportedModel, parts: Parts, decision: dict) -> dict:
    """What the page's advice does on the test part under ``decision``, per image type (as the build reports)."""
    inputs = parts.test.images.astype(np.float32)
    outputs = model.predict_outputs(inputs)
    judgement = judge(inputs, outputs, decision)
    domains = np.asarray(parts.test.domains())
    return advice_by_image_type(parts.test.labels, outputs.probabilities, decision, judgement, domains)


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
    metrics["test_advice"] = advice_on_test(model, parts, decision)
    chosen_at = datetime.now(UTC).isoformat(timespec="seconds")
    manifest = model.manifest | {"decision": decision, "decision_chosen_at": chosen_at}
    facts = data_facts(plan, images)

    def write(folder: Path) -> None:
        shutil.copytree(model_dir, folder, dirs_exist_ok=True)
        write_json(folder / REPORT_FOLDER / METRICS_FILE, metrics)
        render_html(metrics, folder / REPORT_FOLDER / "report.html")
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
