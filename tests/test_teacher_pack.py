"""A teacher trained on a GPU: `trainer teach --pack` writes its images, `--cross-fitted` reads its logits back."""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.special import log_softmax, softmax

from tests.test_build_cli import _cli
from trainer.build import BuildPlan, held_out_ids, load_data, split_data
from trainer.models.efficientnet_lite import imagenet_weights_path
from trainer.preprocess import crop_to, decode_image
from trainer.teacher import FACTS_FILE, TARGETS_FILE, TeacherError, teacher_probabilities
from trainer.teacher_pack import (
    BACKBONE_FILE,
    IMAGES_FILE,
    PACK_FILE,
    PACK_SIZE,
    encode,
    image_files,
    read_cross_fitted,
)

GPU_TEACHER = Path(__file__).resolve().parent.parent / "scripts" / "gpu_teacher.py"
needs_torch = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None,
    reason="PyTorch is not installed: only scripts/gpu_teacher.py needs it (pip install torch scikit-learn pillow)",
)


@pytest.fixture(scope="module")
def pack(ham_layout, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("teacher") / "pack"
    _cli("teach", "--data", str(ham_layout), "--pack", "--backbone", imagenet_weights_path(), "--out", str(folder))
    return folder


def _split(data: Path, seed: int = 0):
    plan = BuildPlan(data=(data,), out=Path("unused"), seed=seed)
    return split_data(plan, load_data(plan))


def _fake_run(pack: Path, path: Path, rng: np.random.Generator, **overrides) -> Path:
    facts = json.loads((pack / PACK_FILE).read_text())
    counts = facts["counts"]
    arrays = {
        "oof": rng.normal(size=(counts["train"], 7)).astype(np.float32),
        "validation": rng.normal(size=(3, counts["validation"], 7)).astype(np.float32),
        "test": rng.normal(size=(3, counts["test"], 7)).astype(np.float32),
        "held_out_digest": facts["held_out_digest"],
        "train_order_digest": facts["train_order_digest"],
        "network": "a fake network",
    }
    np.savez(path, **(arrays | overrides))
    return path


def test_a_pack_holds_every_image_of_the_split_at_the_cached_resolution(pack, ham_layout):
    parts = _split(ham_layout)
    facts = json.loads((pack / PACK_FILE).read_text())
    assert facts["counts"] == {"train": len(parts.train), "validation": len(parts.validation), "test": len(parts.test)}
    with np.load(pack / IMAGES_FILE) as images:
        assert images["train_ids"].tolist() == parts.train.image_ids
        np.testing.assert_array_equal(images["test_labels"], parts.test.labels)
        offsets, blob = images["offsets"], images["blob"]
        assert len(offsets) == sum(facts["counts"].values()) + 1
        first = Image.open(io.BytesIO(blob[offsets[0] : offsets[1]].tobytes()))
    assert first.format == "WEBP" and first.size == PACK_SIZE
    with np.load(pack / BACKBONE_FILE) as backbone:
        assert "_conv_stem__weight" in backbone.files and not any(key.startswith("_fc") for key in backbone.files)
        assert backbone["_conv_stem__weight"].dtype == np.float16


def test_cross_fitted_logits_become_a_teacher_of_this_split_only(pack, ham_layout, tmp_path):
    rng = np.random.default_rng(0)
    runs = [_fake_run(pack, tmp_path / f"run{i}.npz", rng) for i in range(2)]
    teacher = tmp_path / "teacher"
    run_flags = [flag for run in runs for flag in ("--cross-fitted", str(run))]
    _cli("teach", "--data", str(ham_layout), "--out", str(teacher), *run_flags)

    facts = json.loads((teacher / FACTS_FILE).read_text())
    assert "2 cross-fitted run(s) of 3 networks each (a fake network)" in facts["description"]
    assert [member["weights"] for member in facts["members"]] == [str(run) for run in runs]
    parts = _split(ham_layout)
    soft = teacher_probabilities(teacher, parts.train.image_ids, held_out_ids(parts))
    np.testing.assert_allclose(soft.sum(axis=1), 1.0, rtol=1e-5)
    with np.load(teacher / TARGETS_FILE) as cache:
        assert cache["image_ids"].tolist() == parts.train.image_ids
    calibrated = [
        log_softmax(np.load(run)["oof"] / member["temperature"], axis=1) for run, member in zip(runs, facts["members"])
    ]
    expected = softmax(np.mean(calibrated, axis=0) / facts["ensemble_temperature"], axis=1)
    np.testing.assert_allclose(soft, expected, rtol=1e-4, atol=1e-6)

    other = _split(ham_layout, seed=1)
    with pytest.raises(TeacherError, match="another split's pack"):
        read_cross_fitted(runs[0], other.train, other.validation, held_out_ids(other))
    shuffled = _fake_run(pack, tmp_path / "shuffled.npz", rng, train_order_digest="0" * 64)
    with pytest.raises(TeacherError, match="another order"):
        read_cross_fitted(shuffled, parts.train, parts.validation, held_out_ids(parts))
    short = _fake_run(pack, tmp_path / "short.npz", rng, oof=np.zeros((2, 7), np.float32))
    with pytest.raises(TeacherError, match="wrong shape"):
        read_cross_fitted(short, parts.train, parts.validation, held_out_ids(parts))


def test_teach_names_its_four_sources_and_needs_exactly_one(ham_layout, tmp_path):
    neither = _cli("teach", "--data", str(ham_layout), "--out", str(tmp_path / "t"), check=False)
    assert (
        neither.returncode == 2 and "one of the arguments --member --cross-fitted --exported --pack" in neither.stderr
    )
    both = _cli(
        "teach", "--data", str(ham_layout), "--out", str(tmp_path / "t"), "--pack", "--member", "w.h5", check=False
    )
    assert both.returncode == 2 and "not allowed with argument" in both.stderr
    exported_and_member = _cli(
        "teach",
        "--data",
        str(ham_layout),
        "--out",
        str(tmp_path / "t"),
        "--exported",
        "m",
        "--member",
        "w.h5",
        check=False,
    )
    assert exported_and_member.returncode == 2 and "not allowed with argument" in exported_and_member.stderr


def _gpu_teacher_module():
    spec = importlib.util.spec_from_file_location("gpu_teacher", GPU_TEACHER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@needs_torch
def test_the_gpu_teachers_network_matches_the_keras_port_of_the_same_weights():
    import torch

    from trainer.keras_backend import keras
    from trainer.models.efficientnet_lite import build_backbone, load_imagenet_weights
    from trainer.models.torch_weights import load_legacy_state_dict

    gpu_teacher = _gpu_teacher_module()
    state = load_legacy_state_dict(imagenet_weights_path())
    weights = {name.replace(".", "__"): value for name, value in state.items() if not name.startswith("_fc")}
    network = gpu_teacher.EfficientNetLite({k: v for k, v in weights.items() if "num_batches" not in k}).eval()
    inputs = keras.Input((96, 128, 3))
    port = keras.Model(inputs, build_backbone(inputs))
    load_imagenet_weights(port)
    pixels = np.random.default_rng(0).uniform(0, 255, (2, 96, 128, 3)).astype(np.float32)
    with torch.no_grad():
        features = network.features(torch.from_numpy((pixels - 127) / 128).permute(0, 3, 1, 2)).numpy()
    np.testing.assert_allclose(features, port.predict(pixels, verbose=0).mean(axis=(1, 2)), atol=1e-3)


@needs_torch
def test_the_gpu_teacher_cross_fits_a_pack_into_logits_that_teach_accepts(pack, ham_layout, tmp_path):
    run = tmp_path / "run"
    quick = ["--folds", "2", "--epochs", "1", "--size", "48x64", "--batch-size", "4"]
    _gpu_teacher_module().main(["--pack", str(pack), "--out", str(run), *quick])
    facts = json.loads((pack / PACK_FILE).read_text())
    with np.load(run / "logits.npz") as logits:
        assert logits["oof"].shape == (facts["counts"]["train"], 7)
        assert logits["validation"].shape == (2, facts["counts"]["validation"], 7)
        assert np.isfinite(logits["oof"]).all() and (logits["oof"] != 0).any(axis=1).all()  # every row predicted
    teacher = tmp_path / "teacher"
    _cli("teach", "--data", str(ham_layout), "--out", str(teacher), "--cross-fitted", str(run / "logits.npz"))
    assert "efficientnet-lite0" in json.loads((teacher / FACTS_FILE).read_text())["description"]


def _jpeg(path: Path, size: tuple[int, int], seed: int) -> Path:
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, "JPEG", quality=90)
    return path


def test_a_source_pack_keeps_each_cached_files_bytes_and_stores_any_other_losslessly(tmp_path):
    cached = _jpeg(tmp_path / "cached.jpg", PACK_SIZE, 0)
    larger = _jpeg(tmp_path / "larger.jpg", (640, 400), 1)  # 16:10: cropped to 3:4, then area-resized
    assert encode(cached, "source") == cached.read_bytes()
    assert Image.open(io.BytesIO(encode(cached, "webp"))).format == "WEBP"
    stored = Image.open(io.BytesIO(encode(larger, "source")))
    assert stored.format == "WEBP" and stored.size == PACK_SIZE
    expected = Image.fromarray(crop_to(decode_image(larger))).resize(PACK_SIZE, Image.Resampling.BOX)
    np.testing.assert_array_equal(np.asarray(stored.convert("RGB")), np.asarray(expected))


def test_a_source_pack_says_so_and_holds_the_files_own_bytes(ham_layout, tmp_path):
    folder = tmp_path / "pack"
    backbone = imagenet_weights_path()
    _cli(
        "teach",
        "--data",
        str(ham_layout),
        "--pack",
        "--pack-images",
        "source",
        "--backbone",
        backbone,
        "--out",
        str(folder),
    )
    facts = json.loads((folder / PACK_FILE).read_text())
    assert facts["images"].startswith("source") and facts["webp_quality"] is None
    files = image_files([ham_layout])
    with np.load(folder / IMAGES_FILE) as images:
        offsets, blob, first_id = images["offsets"], images["blob"], str(images["train_ids"][0])
        first = blob[offsets[0] : offsets[1]].tobytes()
    assert first == encode(files[first_id], "source")
    np.testing.assert_array_equal(
        np.asarray(Image.open(io.BytesIO(first)).convert("RGB")), crop_to(decode_image(files[first_id]))
    )
