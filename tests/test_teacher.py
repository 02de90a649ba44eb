"""Knowledge distillation: `trainer teach` caches an ensemble's soft labels, `build --teacher` blends them in."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest

from tests.test_build_cli import _cli
from trainer.recipe import recipe_for, with_overrides
from trainer.teacher import (
    FACTS_FILE,
    TARGETS_FILE,
    TeacherError,
    held_out_digest,
    teacher_probabilities,
    write_teacher,
)
from trainer.train import make_dataset, training_targets

TEACHING = with_overrides(recipe_for("compact-cnn"), epochs=1, teacher_weight=0.45)


def _soft_labels(rows: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.ones(7), size=rows).astype(np.float32)


def test_targets_blend_the_true_class_with_the_teacher_and_keep_it_on_top():
    labels = np.array([0, 3, 6, 5])
    teacher = np.eye(7, dtype=np.float32)[[1, 3, 0, 2]]  # the teacher is sure, and wrong on three
    targets = training_targets(labels, TEACHING, teacher)
    np.testing.assert_allclose(targets.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(targets[0, [0, 1]], [0.55, 0.45])
    assert targets[1, 3] == pytest.approx(1.0)
    assert (targets.argmax(axis=1) == labels).all()  # Keras weighs each row by its argmax's class weight
    assert training_targets(labels, recipe_for("compact-cnn")) is labels  # no teacher: class indices


def test_the_training_dataset_carries_the_blended_targets():
    images = np.zeros((6, 75, 100, 3), np.uint8)
    labels = np.arange(6)
    teacher = _soft_labels(6)
    recipe = with_overrides(TEACHING, augment="none")
    (_, targets), *_ = make_dataset(images, labels, recipe, training=False, seed=0, batch_size=6, teacher=teacher)
    np.testing.assert_allclose(targets.numpy(), training_targets(labels, recipe, teacher), rtol=1e-6)


def test_a_teacher_gives_each_image_its_row_and_refuses_another_split(tmp_path):
    ids = ["a", "b", "c"]
    soft = _soft_labels(3)
    write_teacher(tmp_path, ids, soft, {"held_out_digest": held_out_digest(["x", "y"])})
    rows = teacher_probabilities(tmp_path, ["c", "a", "c"], held_out_ids=["y", "x"])
    np.testing.assert_allclose(rows, soft[[2, 0, 2]])
    with pytest.raises(TeacherError, match="held out other images"):
        teacher_probabilities(tmp_path, ids, held_out_ids=["x"])
    with pytest.raises(TeacherError, match=r"1 training image.*'d'"):
        teacher_probabilities(tmp_path, ["a", "d"], held_out_ids=["x", "y"])
    with pytest.raises(TeacherError, match="not a teacher folder"):
        teacher_probabilities(tmp_path / "elsewhere", ids, held_out_ids=["x", "y"])


def test_teacher_flags_are_checked_before_any_work(tmp_path):
    no_teacher = _cli("build", "--data", str(tmp_path), "--teacher-weight", "0.3", check=False)
    assert no_teacher.returncode == 2 and "--teacher-weight needs --teacher" in no_teacher.stderr
    too_heavy = _cli(
        "build", "--data", str(tmp_path), "--teacher", str(tmp_path), "--teacher-weight", "0.8", check=False
    )
    assert too_heavy.returncode == 2 and "below 0.5" in too_heavy.stderr


@pytest.mark.slow
def test_an_ensemble_teaches_a_student_on_its_own_split_only(tiny_model, ham_layout, tmp_path, monkeypatch):
    from trainer import build as build_module
    from trainer.build import BuildPlan, build

    second = with_overrides(recipe_for("compact-cnn"), epochs=2)
    build(BuildPlan(data=(ham_layout,), out=tmp_path / "second", recipe=second, quantization="float16"))
    members = [
        tiny_model.parent / ".tiny.logs" / "trained_weights.h5",
        tmp_path / ".second.logs" / "trained_weights.h5",
    ]
    teacher = tmp_path / "teacher"
    member_flags = [flag for member in members for flag in ("--member", str(member))]
    _cli("teach", "--data", str(ham_layout), "--out", str(teacher), *member_flags)

    facts = json.loads((teacher / FACTS_FILE).read_text())
    assert [member["weights"] for member in facts["members"]] == [str(member) for member in members]
    assert 0 <= facts["validation"]["all"]["balanced_accuracy"] <= 1
    with np.load(teacher / TARGETS_FILE) as cache:
        soft, ids = cache["probabilities"], cache["image_ids"].tolist()
    assert len(ids) == facts["training_images"] == len(set(ids))
    np.testing.assert_allclose(soft.sum(axis=1), 1.0, rtol=1e-5)

    taught = {}
    real_train_model = build_module.train_model

    def spying_train_model(*args, **kwargs):
        taught["teacher"] = args[-1]
        return real_train_model(*args, **kwargs)

    monkeypatch.setattr(build_module, "train_model", spying_train_model)
    plan = BuildPlan(data=(ham_layout,), out=tmp_path / "student", recipe=TEACHING, quantization="float16")
    metrics = build(replace(plan, teacher=teacher))
    assert metrics["training"]["teacher"]["members"] == [str(member) for member in members]
    assert metrics["training"]["recipe"]["teacher_weight"] == 0.45
    assert sorted(map(tuple, taught["teacher"].round(5))) == sorted(map(tuple, soft.round(5)))
    assert "ensemble of 2 networks" in (tmp_path / "student" / "model-card.md").read_text()

    with pytest.raises(TeacherError, match="held out other images"):
        build(replace(plan, teacher=teacher, seed=1, out=tmp_path / "other"))


def test_an_exported_model_teaches_its_probabilities_before_its_offsets(tiny_model, ham_layout, tmp_path):
    from scipy.special import softmax

    from trainer.build import BuildPlan, held_out_ids, split_of
    from trainer.decision import offset_referral, referral_probabilities
    from trainer.info import CLASS_CODES
    from trainer.predict import ExportedModel
    from trainer.teach import teach_from_models

    model_dir = tmp_path / "model"
    shutil.copytree(tiny_model, model_dir)
    manifest = json.loads((model_dir / "manifest.json").read_text())
    offsets = dict(zip(CLASS_CODES, (0.3, 0.2, -0.4, 0.9, 0.1, -0.8, 1.2)))
    manifest["metrics"]["calibration"] |= {"class_offsets": offsets, "temperature_after_offsets": 1.25}
    (model_dir / "manifest.json").write_text(json.dumps(manifest))
    out = tmp_path / "teacher"
    facts = teach_from_models(BuildPlan(data=(ham_layout,), out=out), [model_dir])

    parts = split_of(manifest, (ham_layout,))[2]
    train = parts.train
    outputs = ExportedModel(model_dir).predict_arrays(train.images.astype(np.float32))
    before_offsets = referral_probabilities(outputs, {"referral": offset_referral(manifest)})
    expected = softmax(np.log(np.clip(before_offsets, 1e-12, 1.0)) / facts["ensemble_temperature"], axis=1)
    taught = teacher_probabilities(out, train.image_ids, held_out_ids(parts))  # a build of this split accepts it
    np.testing.assert_allclose(taught, expected, atol=1e-5)
    assert not np.allclose(before_offsets, outputs, atol=1e-3)  # the offsets were undone, not ignored

    with pytest.raises(TeacherError, match="seed 0"):
        teach_from_models(BuildPlan(data=(ham_layout,), out=tmp_path / "other", seed=1), [model_dir])


def test_exported_models_teach_the_mean_of_their_log_probabilities(tiny_model, ham_layout, tmp_path):
    from scipy.special import softmax

    from trainer.build import BuildPlan, held_out_ids, split_of
    from trainer.info import CLASS_CODES
    from trainer.predict import ExportedModel
    from trainer.teach import exported_log_probabilities, teach_from_models

    first, second = tmp_path / "first", tmp_path / "second"
    for folder, offsets in ((first, (0.3, 0.2, -0.4, 0.9, 0.1, -0.8, 1.2)), (second, (0.0,) * 7)):
        shutil.copytree(tiny_model, folder)
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest["metrics"]["calibration"] |= {"class_offsets": dict(zip(CLASS_CODES, offsets))}
        (folder / "manifest.json").write_text(json.dumps(manifest))
    out = tmp_path / "teacher"
    facts = teach_from_models(BuildPlan(data=(ham_layout,), out=out), [first, second])

    parts = split_of(manifest, (ham_layout,))[2]
    train = parts.train
    each = [exported_log_probabilities(ExportedModel(folder), train.images) for folder in (first, second)]
    assert not np.allclose(each[0], each[1], atol=1e-3)  # the two teach different rows
    expected = softmax(np.mean(each, axis=0) / facts["ensemble_temperature"], axis=1)
    taught = teacher_probabilities(out, train.image_ids, held_out_ids(parts))
    np.testing.assert_allclose(taught, expected, atol=1e-5)
    assert [member["weights"] for member in facts["members"]] == [str(first), str(second)]


def test_exported_models_of_another_split_are_refused(tiny_model, ham_layout, tmp_path):
    from trainer.build import BuildPlan, SplitMismatchError
    from trainer.teach import teach_from_models

    other = tmp_path / "other"
    shutil.copytree(tiny_model, other)
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["training_data"]["split"]["counts"]["train"] = {"nv": 1}
    (other / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SplitMismatchError, match="counts"):
        teach_from_models(BuildPlan(data=(ham_layout,), out=tmp_path / "teacher"), [tiny_model, other])
    assert not (tmp_path / "teacher").exists()
