"""scripts/average_students.py: the weight average of students that started alike, loaded by `trainer build`."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.test_build_cli import _cli
from tests.test_gpu_student import SHIPPED_RECIPE, needs_torch
from trainer.build import BuildPlan, held_out_ids, load_data, split_data
from trainer.models.efficientnet_lite import efficientnet_lite0_classifier
from trainer.student_import import RUN_FACTS, load_student

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
QUICK = ["--teacher-weight", "0", "--epochs", "1", "--batch-size", "8"]


def _script(name: str):
    sys.path.insert(0, str(SCRIPTS))  # the scripts import their siblings
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def runs(ham_layout, tmp_path_factory) -> dict[str, Path]:
    """A pack, two one-epoch students from one start (init seed 5), and one from another start."""
    root = tmp_path_factory.mktemp("soup")
    pack = root / "pack"
    _cli("teach", "--data", str(ham_layout), "--pack", "--backbone", "lite0", "--out", str(pack))
    folders = {"pack": pack}
    for name, seeds in (("a", ["--seed", "1", "--init-seed", "5"]), ("b", ["--seed", "2", "--init-seed", "5"]),
                        ("other", ["--seed", "3"])):  # fmt: skip
        folders[name] = root / name
        _script("gpu_student").main(["--pack", str(pack), "--out", str(folders[name]), *QUICK, *seeds])
    return folders


def _average(runs: dict[str, Path], out: Path, *names: str, refresh: bool = False) -> None:
    folders = [argument for name in names for argument in ("--run", str(runs[name]))]
    _script("average_students").main(
        ["--pack", str(runs["pack"]), *folders, "--out", str(out), *(["--refresh-batch-norm"] if refresh else [])]
    )


@needs_torch
@pytest.mark.slow
def test_two_students_from_one_start_average_into_weights_that_build_loads(ham_layout, runs, tmp_path):
    _average(runs, tmp_path / "soup", "a", "b")
    first, second, soup = (np.load(folder / "student.npz") for folder in (runs["a"], runs["b"], tmp_path / "soup"))
    assert not np.allclose(first["logits.weight"], second["logits.weight"])  # two different runs
    for name in first.files:
        np.testing.assert_allclose(soup[name], (first[name] + second[name]) / 2, rtol=1e-6, atol=1e-7, err_msg=name)
    facts = json.loads((tmp_path / "soup" / RUN_FACTS).read_text())
    assert facts["arguments"]["seeds"] == [1, 2] and facts["arguments"]["init_seed"] == 5
    assert "weight average of 2" in facts["trained_by"] and 0 <= facts["validation"]["all"]["balanced_accuracy"] <= 1

    plan = BuildPlan(data=(ham_layout,), out=Path("unused"))
    parts = split_data(plan, load_data(plan))
    model = efficientnet_lite0_classifier(upsample=1.5, colour_constancy="shades-of-gray")
    training = load_student(model, tmp_path / "soup" / "student.npz", SHIPPED_RECIPE, parts.train.image_ids,
                            held_out_ids(parts))  # fmt: skip
    np.testing.assert_allclose(model.get_layer("logits").get_weights()[1], soup["logits.bias"])
    assert training.trained_by["script"] == facts["trained_by"]


@needs_torch
@pytest.mark.slow
def test_refreshed_batch_norm_statistics_are_the_training_images_own(runs, tmp_path):
    import torch

    _average(runs, tmp_path / "refreshed", "a", "b", refresh=True)
    gpu_student, average = _script("gpu_student"), _script("average_students")
    _, weights, _, parts = _script("gpu_teacher").load_pack(runs["pack"], None, torch.device("cpu"))

    def head_statistics_error(state: dict[str, np.ndarray]) -> float:
        """How far the head's batch norm mean lies from the mean of what reaches it from the training images."""
        student, features = average.as_student(weights, state), []
        student.head_bn.register_forward_hook(lambda layer, inputs, output: features.append(inputs[0]))
        gpu_student.predict_logits(student, parts["train"][0])
        return float(np.abs(state["head_bn.running_mean"] - torch.cat(features).mean(0).numpy()).max())

    averaged = head_statistics_error(average.mean_state([runs["a"], runs["b"]]))
    refreshed = head_statistics_error(dict(np.load(tmp_path / "refreshed" / "student.npz")))
    assert refreshed < 0.01 * averaged


@needs_torch
@pytest.mark.slow
def test_students_from_other_starts_or_recipes_are_refused(runs, tmp_path):
    with pytest.raises(SystemExit, match="started from other weights"):
        _average(runs, tmp_path / "refused", "a", "other")
    facts = json.loads((runs["b"] / RUN_FACTS).read_text())
    changed = tmp_path / "changed"
    changed.mkdir()
    (changed / "student.npz").write_bytes((runs["b"] / "student.npz").read_bytes())
    (changed / RUN_FACTS).write_text(json.dumps(facts | {"arguments": facts["arguments"] | {"lr": 1.0}}))
    with pytest.raises(SystemExit, match="other arguments"):
        _average(runs | {"changed": changed}, tmp_path / "refused", "a", "changed")
    assert not (tmp_path / "refused").exists()
