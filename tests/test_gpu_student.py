"""A student trained on a GPU by scripts/gpu_student.py: `trainer build --weights RUN/student.npz` loads it."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.test_build_cli import _cli
from tests.test_teacher_pack import _fake_run
from trainer.build import BuildPlan, held_out_ids, load_data, split_data
from trainer.models.efficientnet_lite import efficientnet_lite0_classifier, imagenet_weights_path
from trainer.models.torch_weights import load_legacy_state_dict
from trainer.recipe import recipe_for, with_overrides
from trainer.student_import import RUN_FACTS, StudentError, load_student
from trainer.teacher import held_out_digest
from trainer.teacher_pack import order_digest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
SHIPPED_RECIPE = with_overrides(recipe_for("efficientnet-lite0"), colour_constancy="shades-of-gray")
needs_torch = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None,
    reason="PyTorch is not installed: only scripts/gpu_student.py needs it (pip install torch scikit-learn pillow)",
)


@pytest.fixture(scope="module")
def parts(ham_layout):
    plan = BuildPlan(data=(ham_layout,), out=Path("unused"))
    return split_data(plan, load_data(plan))


def _student_state(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """What scripts/gpu_student.py saves: backbone under the ImageNet state_dict's names, then the head."""
    backbone = {
        name: value
        for name, value in load_legacy_state_dict(imagenet_weights_path()).items()
        if not name.startswith("_fc") and not name.endswith("num_batches_tracked")
    }
    head = {
        "head_bn.weight": rng.uniform(0.5, 1.5, 1280),
        "head_bn.bias": rng.normal(size=1280),
        "head_bn.running_mean": rng.normal(size=1280),
        "head_bn.running_var": rng.uniform(0.5, 2.0, 1280),
        "head_dense.weight": rng.normal(scale=0.05, size=(256, 1280)),
        "head_dense.bias": rng.normal(scale=0.1, size=256),
        "logits.weight": rng.normal(scale=0.2, size=(7, 256)),
        "logits.bias": rng.normal(scale=0.1, size=7),
    }
    return backbone | {name: value.astype(np.float32) for name, value in head.items()}


def _write_run(folder: Path, parts, **overrides) -> Path:
    """A run folder as scripts/gpu_student.py writes it, for this split (or as ``overrides`` say)."""
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "student.npz", **_student_state(np.random.default_rng(0)))
    facts = {
        "trained_by": "scripts/gpu_student.py",
        "backbone": "efficientnet-lite0-57934424",
        "teacher": "2 cross-fitted run(s) of 5 networks each (a fake network)",
        "architecture": {"arch": "efficientnet-lite0", "upsample": 1.5, "colour_constancy": "shades-of-gray"},
        "arguments": {"pack": "PACK", "teacher": "T", "out": "RUN", "epochs": 2, "teacher_weight": 0.4, "seed": 1},
        "held_out_digest": held_out_digest(held_out_ids(parts)),
        "train_order_digest": order_digest(parts.train.image_ids),
        "device": "NVIDIA H200",
        "seconds": 12.5,
        "best_epoch": 2,
        "validation": {"all": {"balanced_accuracy": 0.5, "macro_auc": 0.8}},
        "history": [{"epoch": e, "loss": 1.0 / e, "balanced_accuracy": e / 4} for e in (1, 2)],
    }
    (folder / RUN_FACTS).write_text(json.dumps(facts | overrides))
    return folder / "student.npz"


def test_a_students_weights_land_in_the_keras_layers_of_the_same_name(parts, tmp_path):
    weights = _write_run(tmp_path / "run", parts)
    model = efficientnet_lite0_classifier(upsample=1.5, colour_constancy="shades-of-gray")
    training = load_student(model, weights, SHIPPED_RECIPE, parts.train.image_ids, held_out_ids(parts))
    state = np.load(weights)
    kernel, bias = model.get_layer("logits").get_weights()
    np.testing.assert_array_equal(kernel, state["logits.weight"].T)
    np.testing.assert_array_equal(bias, state["logits.bias"])
    *_, variance = model.get_layer("head_bn").get_weights()
    np.testing.assert_array_equal(variance, state["head_bn.running_var"])
    (stem,) = model.get_layer("lite0_stem_conv").get_weights()
    np.testing.assert_array_equal(stem, state["_conv_stem.weight"].transpose(2, 3, 1, 0))
    assert training.best_epoch == 2 and training.history["val_balanced_accuracy"] == [0.25, 0.5]
    assert training.trained_by["device"] == "NVIDIA H200"
    assert training.trained_by["recipe"] == {
        "arch": "efficientnet-lite0",
        "upsample": 1.5,
        "colour_constancy": "shades-of-gray",
        "epochs": 2,
        "teacher_weight": 0.4,
        "seed": 1,
    }


def test_a_student_of_another_split_network_or_folder_is_refused(parts, tmp_path):
    model = efficientnet_lite0_classifier(upsample=1.5, colour_constancy="shades-of-gray")

    def load(weights: Path, recipe=SHIPPED_RECIPE):
        return load_student(model, weights, recipe, parts.train.image_ids, held_out_ids(parts))

    with pytest.raises(StudentError, match="another split"):
        load(_write_run(tmp_path / "split", parts, held_out_digest="0" * 64))
    with pytest.raises(StudentError, match="other training images"):
        load(_write_run(tmp_path / "order", parts, train_order_digest="0" * 64))
    with pytest.raises(StudentError, match="recipe makes"):
        load(_write_run(tmp_path / "plain", parts), recipe_for("efficientnet-lite0"))
    lonely = _write_run(tmp_path / "lonely", parts)
    (lonely.parent / RUN_FACTS).unlink()
    with pytest.raises(StudentError, match=r"no run\.json"):
        load(lonely)


@pytest.fixture(scope="module")
def student_build(ham_layout, parts, tmp_path_factory) -> Path:
    """A model folder that `trainer build --weights` exported from a (random) student of this split."""
    folder = tmp_path_factory.mktemp("student-build")
    weights = _write_run(folder / "run", parts)
    out = folder / "model"
    _cli("build", "--data", str(ham_layout), "--colour-constancy", "shades-of-gray", "--weights", str(weights),
         "--out", str(out))  # fmt: skip
    return out


@pytest.mark.slow
def test_a_build_from_a_gpu_student_exports_it_and_says_how_it_was_trained(student_build):
    out = student_build
    metrics = json.loads((out / "report" / "metrics.json").read_text())
    training = metrics["training"]
    assert training["machine"] == "NVIDIA H200" and training["trained_by"]["script"] == "scripts/gpu_student.py"
    assert training["recipe"]["teacher_weight"] == 0.4 and training["epochs_run"] == 2
    card = (out / "model-card.md").read_text()
    assert "trained in PyTorch by scripts/gpu_student.py on NVIDIA H200, distilled from 2 cross-fitted" in card
    assert "earlier build" not in card


def _gpu_student_module():
    sys.path.insert(0, str(SCRIPTS))  # the script imports its sibling gpu_teacher
    spec = importlib.util.spec_from_file_location("gpu_student", SCRIPTS / "gpu_student.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@needs_torch
def test_the_pytorch_student_computes_what_its_keras_twin_computes(parts, tmp_path):
    import torch

    from trainer.keras_backend import keras
    from trainer.models.efficientnet_lite import load_trained_state

    gpu_student = _gpu_student_module()
    state = _student_state(np.random.default_rng(1))
    weights = {name.replace(".", "__"): value for name, value in state.items() if not name.startswith("head")}
    student = gpu_student.Student({k: v for k, v in weights.items() if not k.startswith("logits")})
    student.load_state_dict({f"backbone.{k}" if not k.startswith(("head", "logits")) else k: torch.from_numpy(v)
                             for k, v in state.items()}, strict=False)  # fmt: skip
    student.eval()
    model = efficientnet_lite0_classifier(upsample=1.5, colour_constancy="shades-of-gray")
    load_trained_state(model, student.keras_state())
    pixels = np.random.default_rng(0).uniform(0, 255, (2, 75, 100, 3)).astype(np.float32)
    pixels[1] *= np.array([1.0, 0.8, 0.6], np.float32)  # a colour cast for Shades of Gray to undo
    with torch.no_grad():
        expected = student(torch.from_numpy(pixels).permute(0, 3, 1, 2)).numpy()
    logits = keras.Model(model.input, model.get_layer("logits").output).predict(pixels, verbose=0)
    assert np.abs(expected).max() > 0.5  # a head that says something, so the comparison means something
    np.testing.assert_allclose(logits, expected, atol=1e-3)


@needs_torch
@pytest.mark.slow
def test_the_gpu_student_trains_on_a_pack_into_weights_that_build_loads(ham_layout, student_build, tmp_path):
    pack, teacher, run = tmp_path / "pack", tmp_path / "teacher", tmp_path / "run"
    _cli("teach", "--data", str(ham_layout), "--pack", "--backbone", "lite0", "--out", str(pack))
    _fake_run(pack, tmp_path / "logits.npz", np.random.default_rng(0))
    _cli("teach", "--data", str(ham_layout), "--out", str(teacher), "--cross-fitted", str(tmp_path / "logits.npz"))
    quick = ["--epochs", "1", "--batch-size", "8"]
    _gpu_student_module().main(["--pack", str(pack), "--teacher", str(teacher), "--out", str(run), *quick])
    facts = json.loads((run / RUN_FACTS).read_text())
    assert facts["best_epoch"] == 1 and facts["architecture"]["colour_constancy"] == "shades-of-gray"
    for part in ("train", "validation", "test"):
        assert 0 <= facts[part]["all"]["balanced_accuracy"] <= 1 and "ham10000 dermoscopic" in facts[part]
    out = tmp_path / "model"
    _cli("build", "--data", str(ham_layout), "--colour-constancy", "shades-of-gray", "--weights",
         str(run / "student.npz"), "--out", str(out))  # fmt: skip
    assert json.loads((out / "report" / "metrics.json").read_text())["training"]["trained_by"]["device"] == "cpu"

    # Without a teacher: true labels only, and a teacher weight above 0 is refused. This one fine-tunes an
    # exported network of the split, close-ups weighed twice.
    bare, start = tmp_path / "bare", tmp_path / "start.npz"
    _cli("teach", "--data", str(ham_layout), "--exported", str(student_build), "--out", str(tmp_path / "self"),
         "--student-start", str(start))  # fmt: skip
    fine_tuning = ["--start", str(start), "--clinical-weight", "2"]
    _gpu_student_module().main(["--pack", str(pack), "--teacher-weight", "0", "--out", str(bare), *quick, *fine_tuning])
    bare_facts = json.loads((bare / RUN_FACTS).read_text())
    assert bare_facts["teacher"] is None and bare_facts["arguments"]["start"] == str(start)
    with pytest.raises(SystemExit):
        _gpu_student_module().main(["--pack", str(pack), "--out", str(tmp_path / "refused"), *quick])
    with pytest.raises(SystemExit):
        _gpu_student_module().main(["--pack", str(pack), "--teacher-weight", "0", "--dermoscopic-teacher-weight", "1",
                                    "--out", str(tmp_path / "refused"), *quick])  # fmt: skip

    # Interrupted in its second epoch, the same command goes on from the first and ends where an unbroken run does.
    two = ["--pack", str(pack), "--teacher-weight", "0", "--epochs", "2", "--batch-size", "8"]
    _gpu_student_module().main([*two, "--out", str(tmp_path / "unbroken")])
    broken = _gpu_student_module()
    judged_epochs = []

    def scores_until_the_second_epoch(*scored):
        judged_epochs.append(1)
        if len(judged_epochs) == 2:
            raise KeyboardInterrupt
        return original_scores(*scored)

    original_scores, broken.scores = broken.scores, scores_until_the_second_epoch
    with pytest.raises(KeyboardInterrupt):
        broken.main([*two, "--out", str(tmp_path / "resumed")])
    assert (tmp_path / "resumed" / "checkpoint.pt").exists() and not (tmp_path / "resumed" / "student.npz").exists()
    (tmp_path / "other").mkdir()
    shutil.copy(tmp_path / "resumed" / "checkpoint.pt", tmp_path / "other")
    with pytest.raises(SystemExit, match="other arguments"):
        _gpu_student_module().main([*two, "--seed", "1", "--out", str(tmp_path / "other")])
    resuming = _gpu_student_module()
    resuming.STARTED = time.time()  # the resuming process's own clock starts now
    resuming.main([*two, "--out", str(tmp_path / "resumed")])
    facts = json.loads((tmp_path / "resumed" / RUN_FACTS).read_text())
    assert facts["seconds"] >= sum(epoch["seconds"] for epoch in facts["history"])  # both processes' epochs count
    unbroken, resumed = (np.load(tmp_path / name / "student.npz") for name in ("unbroken", "resumed"))
    for name in unbroken.files:
        np.testing.assert_allclose(resumed[name], unbroken[name], atol=1e-5, err_msg=name)
    assert not (tmp_path / "resumed" / "checkpoint.pt").exists()


@needs_torch
@pytest.mark.slow
def test_an_exported_network_starts_the_pytorch_student_where_the_page_has_it(student_build, parts, tmp_path):
    import torch

    from trainer.predict import ExportedModel
    from trainer.teach import write_student_start

    gpu_student = _gpu_student_module()
    start = tmp_path / "start.npz"
    held_out = held_out_digest(held_out_ids(parts))
    write_student_start(student_build, start, held_out)
    pack_weights = {name.replace(".", "__"): value for name, value in _student_state(np.random.default_rng(2)).items()}
    student = gpu_student.Student({k: v for k, v in pack_weights.items() if not k.startswith(("head", "logits"))})
    gpu_student.load_start(student, start, held_out)
    student.train()
    gpu_student.freeze_batch_norms(student)
    student.head_dropout.p = student.head_dropout2.p = 0.0  # training mode, less the dropout's randomness
    pixels = parts.validation.images[:4].astype(np.float32)
    with torch.no_grad():
        logits = student(torch.from_numpy(pixels).permute(0, 3, 1, 2)).numpy()
    exported = ExportedModel(student_build).predict_arrays(pixels)
    np.testing.assert_allclose(torch.softmax(torch.from_numpy(logits), 1).numpy(), exported, atol=2e-3)
    assert np.ptp(logits) > 0.5  # a network that says something, so the comparison means something

    other = tmp_path / "other.npz"
    with np.load(start) as state:
        np.savez(other, **{name: state[name] for name in state.files if name != "architecture"},
                 architecture=np.array(json.dumps({"arch": "efficientnet-lite0", "upsample": 1.0,
                                                   "colour_constancy": "none"})))  # fmt: skip
    with pytest.raises(SystemExit, match="upsample"):
        gpu_student.load_start(student, other, held_out)
    with pytest.raises(SystemExit, match="another split"):
        gpu_student.load_start(student, start, "0" * 64)


def test_only_an_exported_efficientnet_lite0_becomes_a_students_start(tiny_model, ham_layout, tmp_path):
    from trainer.teach import write_student_start
    from trainer.teacher import TeacherError

    with pytest.raises(TeacherError, match="compact-cnn network"):
        write_student_start(tiny_model, tmp_path / "start.npz", "0" * 64)
    assert not list(tmp_path.iterdir())
    two = _cli("teach", "--data", str(ham_layout), "--out", str(tmp_path / "t"), "--exported", str(tiny_model),
               "--exported", str(tiny_model), "--student-start", str(tmp_path / "start.npz"), check=False)  # fmt: skip
    assert two.returncode == 2 and "exactly one --exported" in two.stderr and not list(tmp_path.iterdir())


@needs_torch
def test_a_close_up_can_be_taught_the_mean_of_its_own_and_its_dermoscopic_pairs_teacher_rows():
    teacher = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5], [0.6, 0.4], [0.0, 1.0]])
    groups = np.array(["HAM_1", "milk10k:IL_1", "milk10k:IL_1", "milk10k:IL_2", "milk10k:IL_3"])
    domains = np.array(
        ["ham10000 dermoscopic", "milk10k clinical", "milk10k dermoscopic", "milk10k clinical", "milk10k dermoscopic"]
    )
    gpu_student = _gpu_student_module()
    paired = gpu_student.with_paired_clinical_rows(teacher, gpu_student.dermoscopic_partners(groups, domains))
    np.testing.assert_allclose(paired[1], [0.35, 0.65])  # the close-up meets its lesion's dermoscopic photo
    np.testing.assert_allclose(np.delete(paired, 1, axis=0), np.delete(teacher, 1, axis=0))  # no pair: its own
    np.testing.assert_allclose(teacher[1], [0.2, 0.8])  # the teacher's rows are left as they were


@needs_torch
def test_dermoscopic_photos_can_be_taught_by_the_teacher_alone_while_close_ups_keep_their_labels():
    gpu_student = _gpu_student_module()
    labels = np.array([0, 3, 6])
    teacher = np.random.default_rng(0).dirichlet(np.ones(7), size=3).astype(np.float32)
    domains = np.array(["ham10000 dermoscopic", "milk10k clinical", "milk10k dermoscopic"])
    targets = gpu_student.soft_targets(labels, teacher, gpu_student.per_photo_type(domains, 0.4, 1.0))
    np.testing.assert_allclose(targets[[0, 2]], teacher[[0, 2]], rtol=1e-6)  # anchored to the teacher
    np.testing.assert_allclose(targets[1], 0.6 * np.eye(7)[3] + 0.4 * teacher[1], rtol=1e-6)
    np.testing.assert_allclose(targets.sum(axis=1), 1.0, rtol=1e-6)
    shared = gpu_student.soft_targets(labels, teacher, gpu_student.per_photo_type(domains, 0.4, 0.4))
    np.testing.assert_allclose(shared, 0.6 * np.eye(7)[labels] + 0.4 * teacher, rtol=1e-6)


@needs_torch
def test_each_close_up_finds_its_lesions_dermoscopic_photo_and_nothing_else_does():
    groups = np.array(["milk10k:IL_1", "HAM_1", "milk10k:IL_1", "milk10k:IL_2", "milk10k:IL_3", "milk10k:IL_3"])
    domains = np.array(["milk10k dermoscopic", "ham10000 dermoscopic", "milk10k clinical", "milk10k clinical",
                        "milk10k clinical", "milk10k dermoscopic"])  # fmt: skip
    partners = _gpu_student_module().dermoscopic_partners(groups, domains)
    assert partners.tolist() == [-1, -1, 0, -1, 5, -1]  # IL_2's close-up has no dermoscopic photo in the part


@needs_torch
def test_the_alignment_loss_pulls_the_close_up_and_leaves_its_partner_where_it_is():
    import torch

    gpu_student = _gpu_student_module()
    own = torch.tensor([[1.0, 0.0], [0.0, 2.0]], requires_grad=True)
    partners = torch.tensor([[3.0, 0.0], [1.0, 0.0]], requires_grad=True)
    loss = gpu_student.alignment_loss(own, partners)
    assert loss.item() == pytest.approx(0.5)  # the same direction costs 0, a right angle 1
    loss.backward()
    assert partners.grad is None and own.grad[1].abs().sum() > 0 and own.grad[0].abs().sum() == 0
    with pytest.raises(SystemExit):  # the partners run in training mode: only with frozen batch norms, and no mixup
        gpu_student.main(["--pack", "P", "--teacher-weight", "0", "--out", "R", "--pair-alignment", "1"])


@needs_torch
def test_only_close_ups_with_a_partner_are_pulled_and_the_partners_pass_builds_no_graph():
    import torch

    class Pooled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.ones(3, 2))

        def embedding(self, x: torch.Tensor) -> torch.Tensor:
            return x.mean((2, 3)) @ self.weight

    gpu_student = _gpu_student_module()
    model = Pooled()
    images = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (4, 150, 200, 3), dtype=np.uint8))
    own = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], requires_grad=True)
    loss = gpu_student.partner_alignment(model, images, np.array([-1, 3, -1]), own)
    loss.backward()
    assert loss.item() > 0 and model.weight.grad is None  # the partner's embedding is held fixed
    assert own.grad[1].abs().sum() > 0 and own.grad[[0, 2]].abs().sum() == 0
    unpaired = gpu_student.partner_alignment(model, images, np.array([-1, -1, -1]), own)
    assert unpaired.item() == 0.0


@needs_torch
def test_mixup_blends_inputs_targets_and_weights_of_two_photos_by_one_share():
    import torch

    mixed_up = _gpu_student_module().mixed_up
    torch.manual_seed(0)
    inputs, targets, weights = torch.rand(6, 3, 4, 5), torch.eye(6), torch.arange(1.0, 7.0)
    assert all(a is b for a, b in zip(mixed_up(inputs, targets, weights, 0.0), (inputs, targets, weights)))
    blended, blended_targets, blended_weights = mixed_up(inputs, targets, weights, 0.4)
    shares = set()
    for row in range(6):  # photo `row` has class `row`: a blended row's classes name the two photos and the share
        others = [c for c in range(6) if c != row and blended_targets[row, c] > 0]
        assert len(others) <= 1 and blended_targets[row].sum() == pytest.approx(1.0)
        other, share = (others[0], float(blended_targets[row, row])) if others else (row, 1.0)
        assert blended[row].allclose(share * inputs[row] + (1 - share) * inputs[other], atol=1e-6)
        assert float(blended_weights[row]) == pytest.approx(share * (row + 1) + (1 - share) * (other + 1))
        if others:
            shares.add(round(share, 5))
    assert len(shares) == 1 and 0 < shares.pop() < 1  # one share for the whole batch


@needs_torch
def test_strong_augmentation_changes_only_the_rows_it_is_asked_for():
    import torch

    page_input = _gpu_student_module().page_input
    images = torch.randint(0, 256, (6, 150, 200, 3), dtype=torch.uint8)
    strong = torch.tensor([True, False, True, False, False, True])
    torch.manual_seed(3)
    standard = page_input(images, train=True)
    torch.manual_seed(3)
    stronger = page_input(images, train=True, strong=strong)
    assert stronger.shape == (6, 3, 75, 100) and stronger.min() >= 0 and stronger.max() <= 255
    assert torch.equal(stronger[~strong], standard[~strong])  # the other photos draw what they always drew
    assert all(not torch.equal(stronger[row], standard[row]) for row in strong.nonzero().flatten())


@needs_torch
def test_the_blur_keeps_flat_colour_and_smooths_noise():
    import torch

    blurred = _gpu_student_module().blurred
    flat = torch.full((1, 3, 10, 12), 0.4)
    assert torch.allclose(blurred(flat), flat)
    noise = torch.rand(2, 3, 30, 40)
    smoothed = blurred(noise)
    assert smoothed.shape == noise.shape and smoothed.std() < noise.std() / 2
    assert smoothed.mean().item() == pytest.approx(noise.mean().item(), abs=0.01)
