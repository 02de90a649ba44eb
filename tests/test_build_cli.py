"""`trainer build / predict / evaluate` end to end on generated data, and export atomicity."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO_ROOT, tree_digest
from tests.image_factory import lesion_like, write_milk_layout, write_rgb
from trainer.info import CLASS_CODES
from trainer.preprocess import PREPROCESSING_SPEC


def _cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "trainer", *args], cwd=REPO_ROOT, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"trainer {args} failed:\n{result.stdout}\n{result.stderr}")
    return result


def test_export_folder_has_model_manifest_and_report(tiny_model):
    manifest = json.loads((tiny_model / "manifest.json").read_text())
    assert [c["code"] for c in manifest["classes"]] == list(CLASS_CODES)
    assert manifest["preprocessing"] == PREPROCESSING_SPEC
    assert manifest["model"]["input_shape"] == [75, 100, 3]
    listed = {f["path"]: f for f in manifest["files"]}
    assert "model.json" in listed and any(p.startswith("group1-shard") for p in listed)
    for path, entry in listed.items():
        data = (tiny_model / path).read_bytes()
        assert entry["bytes"] == len(data) and entry["sha256"] == hashlib.sha256(data).hexdigest()
    unlisted = {"manifest.json", "model-card.md", "model-card.json"}  # the card names the manifest's hash
    assert set(listed) == {p for p in tree_digest(tiny_model) if p not in unlisted}
    for name in ("metrics.json", "report.html", "confusion_matrix.png", "roc_curves.png", "reliability.png"):
        assert (tiny_model / "report" / name).is_file()
    metrics = json.loads((tiny_model / "report" / "metrics.json").read_text())
    assert metrics["calibration"]["temperature"] > 0 and metrics["test"]["n"] > 0
    assert manifest["training_data"]["class_counts"]["nv"] == 6
    assert 0 < manifest["decision"]["uncertain_below"] < 1


def test_predict_json_is_a_probability_table(tiny_model, tmp_path):
    images = [write_rgb(tmp_path / f"p{i}.jpg", lesion_like(90 + i * 40, 160, i)) for i in range(2)]
    result = json.loads(_cli("predict", "--model", str(tiny_model), "--json", *map(str, images)).stdout)
    assert list(result) == [str(p) for p in images]
    for entry in result.values():
        probabilities = entry["probabilities"]
        assert list(probabilities) == list(CLASS_CODES)
        assert np.isclose(sum(probabilities.values()), 1, atol=1e-5)


def test_evaluate_on_labelled_folder(tiny_model, ham_layout, tmp_path):
    labels = tmp_path / "labels.csv"
    with labels.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image_id", "dx"])
        for row in list(csv.DictReader((ham_layout / "HAM10000_metadata.csv").open()))[::3]:
            writer.writerow([row["image_id"], row["dx"]])
    out = tmp_path / "metrics.json"
    _cli(
        "evaluate",
        "--model",
        str(tiny_model),
        "--images",
        str(ham_layout / "HAM10000_images"),
        "--labels",
        str(labels),
        "--json",
        str(out),
    )
    metrics = json.loads(out.read_text())
    assert metrics["n"] == 14
    for key in ("accuracy", "balanced_accuracy", "macro_auc", "ece"):
        assert 0 <= metrics[key] <= 1
    assert set(metrics["per_class"]) == set(CLASS_CODES)
    assert set(metrics["per_class"]["mel"]) >= {"recall", "precision", "specificity", "auc", "support"}


def test_evaluate_on_a_milk10k_folder_reports_each_image_type(tiny_model, tmp_path, monkeypatch):
    from trainer import metrics as metrics_module
    from trainer.evaluate import evaluate_folder

    milk = write_milk_layout(tmp_path / "milk", lesions_per_diagnosis=2)
    monkeypatch.setattr(metrics_module, "MIN_GROUP_IMAGES", 1)
    metrics = evaluate_folder(tiny_model, data=milk)
    by_type = metrics["groups"]["image_type"]
    assert set(by_type) == {"milk10k clinical", "milk10k dermoscopic"}
    assert by_type["milk10k clinical"]["n"] == by_type["milk10k dermoscopic"]["n"] == metrics["n"] / 2
    assert set(metrics["out_of_distribution"]["rate_by_image_type"]) == set(by_type)
    advice = metrics["advice"]
    assert set(advice) == {"all"} | set(by_type) and advice["all"]["images"] == metrics["n"]
    assert sum(advice["all"]["share"].values()) == pytest.approx(1.0)


@pytest.mark.parametrize("command", [[], ["build"], ["teach"], ["predict"], ["evaluate"]])
def test_help_on_every_command(command):
    result = _cli(*command, "--help")
    assert "usage:" in result.stdout and "--" in result.stdout


def test_build_error_names_the_file_and_keeps_the_previous_model(tiny_model, ham_layout, tmp_path):
    out = shutil.copytree(tiny_model, tmp_path / "artifacts")
    before = tree_digest(out)
    data = shutil.copytree(ham_layout, tmp_path / "broken")
    victim = data / "HAM10000_images" / "ISIC_0300001.jpg"
    victim.write_bytes(b"not a jpeg")
    result = _cli(
        "build", "--data", str(data), "--out", str(out), "--arch", "compact-cnn", "--epochs", "1", check=False
    )
    assert result.returncode == 2 and "ISIC_0300001.jpg" in result.stderr
    assert tree_digest(out) == before
    assert not [p for p in tmp_path.iterdir() if "staging" in p.name]


def test_failed_export_leaves_previous_model_intact(tiny_model, tmp_path):
    from trainer.export import export_atomically

    out = shutil.copytree(tiny_model, tmp_path / "artifacts")
    before = tree_digest(out)

    def half_write(folder: Path) -> None:
        (folder / "model.json").write_text("{}")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        export_atomically(out, half_write)
    assert tree_digest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["artifacts"]


def test_successful_export_replaces_the_folder(tmp_path):
    from trainer.export import export_atomically

    out = tmp_path / "artifacts"
    out.mkdir()
    (out / "old.txt").write_text("old")
    export_atomically(out, lambda folder: (folder / "new.txt").write_text("new"))
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["artifacts"]


def test_export_removes_staging_folders_of_dead_builds(tmp_path):
    from trainer.export import export_atomically

    out = tmp_path / "artifacts"
    stale = tmp_path / ".artifacts.staging-999999999-abcd"  # no such process
    stale.mkdir()
    (stale / "model.json").write_text("{}")
    export_atomically(out, lambda folder: (folder / "new.txt").write_text("new"))
    assert not stale.exists() and (out / "new.txt").is_file()
