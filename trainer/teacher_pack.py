"""A teacher trained elsewhere (scripts/gpu_teacher.py, on a GPU): the pack it reads and the logits it returns.

``trainer teach --pack`` writes the split's images at the cached resolution (WebP, to travel light, or each
file's own bytes, lossless), their labels, lesions and image types, a fingerprint of the split, and a larger
backbone's ImageNet weights.
The GPU script cross-fits networks over lesion-grouped folds of the training images and returns, for every
training image, the logits of the network that did not train on it (out-of-fold), plus every fold network's
validation logits. ``trainer teach --cross-fitted`` checks that such a file belongs to this split and turns
one or more of them into a teacher folder (trainer/teacher.py).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from trainer.datasets import LabelledImages, read_labelled_files
from trainer.info import NUM_CLASSES
from trainer.models.torch_weights import load_legacy_state_dict
from trainer.preprocess import crop_to, decode_image
from trainer.teacher import TeacherError, held_out_digest

IMAGES_FILE = "images.npz"
BACKBONE_FILE = "backbone.npz"
PACK_FILE = "pack.json"
PACK_SIZE = (200, 150)  # width, height: the data's cached resolution, 2x the model's input
PACK_QUALITY = 75  # WebP: 15155 images in 32 MB
PACK_IMAGES = ("webp", "source")  # re-encoded as WebP at PACK_QUALITY, or each file's own bytes (80 MB)
PARTS = ("train", "validation", "test")


def order_digest(image_ids: list[str]) -> str:
    """A fingerprint of the training images in their order (rows of out-of-fold logits follow it)."""
    return held_out_digest([f"{row}:{image_id}" for row, image_id in enumerate(image_ids)])


def encode(path: Path, images: str = "webp") -> bytes:
    """The file, decoded as the spec decodes, centre-cropped to 3:4 and area-resized to PACK_SIZE, as WebP.

    With ``images="source"`` nothing is re-encoded: a file whose plain decoding already is that frame (the
    cached data) keeps its own bytes, any other is stored as lossless WebP.
    """
    pixels = crop_to(decode_image(path))
    crop = Image.fromarray(pixels)
    if crop.size != PACK_SIZE:
        crop = crop.resize(PACK_SIZE, Image.Resampling.BOX)
    elif images == "source" and np.array_equal(np.asarray(Image.open(path).convert("RGB")), pixels):
        return path.read_bytes()
    buffer = io.BytesIO()
    crop.save(buffer, "WEBP", **({"lossless": True} if images == "source" else {"quality": PACK_QUALITY}))
    return buffer.getvalue()


def image_files(data_dirs: list[Path]) -> dict[str, Path]:
    """Image id -> file, over every ``--data`` folder (the first folder wins, as in loading)."""
    files: dict[str, Path] = {}
    for folder in data_dirs:
        for labelled in read_labelled_files(folder):
            files.setdefault(labelled.image_id, labelled.path)
    return files


def write_pack(
    folder: Path,
    parts: dict[str, LabelledImages],
    files: dict[str, Path],
    held_out: list[str],
    backbone: str,
    images: str = "webp",
) -> dict:
    """Write the images (``images``: one of PACK_IMAGES), labels and split fingerprint of ``parts`` (train,
    validation, test) into ``folder``."""
    arrays: dict[str, np.ndarray] = {}
    blobs: list[bytes] = []
    for name in PARTS:
        part = parts[name]
        missing = [image_id for image_id in part.image_ids if image_id not in files]
        if missing:
            raise TeacherError(f"no image file for {len(missing)} {name} image(s), e.g. {missing[:3]}")
        blobs += [encode(files[image_id], images) for image_id in part.image_ids]
        arrays |= {
            f"{name}_ids": np.asarray(part.image_ids),
            f"{name}_labels": part.labels,
            f"{name}_groups": np.asarray(part.groups or part.image_ids),
            f"{name}_domains": np.asarray(part.domains()),
        }
    arrays["offsets"] = np.cumsum([0, *map(len, blobs)])
    arrays["blob"] = np.frombuffer(b"".join(blobs), np.uint8)
    np.savez(folder / IMAGES_FILE, **arrays)
    facts = {
        "counts": {name: len(parts[name]) for name in PARTS},
        "held_out_digest": held_out_digest(held_out),
        "train_order_digest": order_digest(parts["train"].image_ids),
        "size": list(PACK_SIZE),
        "images": "webp" if images == "webp" else "source (each file's own bytes, else lossless WebP)",
        "webp_quality": PACK_QUALITY if images == "webp" else None,
        "backbone": backbone,
    }
    (folder / PACK_FILE).write_text(json.dumps(facts, indent=2) + "\n")
    return facts


def write_backbone(folder: Path, weights: Path) -> None:
    """A legacy PyTorch EfficientNet(-Lite) state_dict as float16 arrays, without its ImageNet classifier."""
    state = load_legacy_state_dict(weights)
    arrays = {
        name.replace(".", "__"): value.astype(np.float16)
        for name, value in state.items()
        if not name.startswith("_fc") and not name.endswith("num_batches_tracked")
    }
    np.savez(folder / BACKBONE_FILE, **arrays)


def read_cross_fitted(path: Path, train: LabelledImages, validation: LabelledImages, held_out: list[str]) -> dict:
    """A GPU run's logits, refused unless it was made from this split's pack."""
    with np.load(path) as run:
        arrays = {key: run[key] for key in run.files}
    if str(arrays.get("held_out_digest")) != held_out_digest(held_out):
        raise TeacherError(f"{path} was trained on another split's pack: run `trainer teach --pack` on this split")
    if str(arrays.get("train_order_digest")) != order_digest(train.image_ids):
        raise TeacherError(f"{path} lists the training images in another order than this split")
    expected = (len(train), NUM_CLASSES), (len(validation), NUM_CLASSES)
    if (arrays["oof"].shape, arrays["validation"].shape[1:]) != expected:
        raise TeacherError(f"{path}: logits of the wrong shape {arrays['oof'].shape}, {arrays['validation'].shape}")
    return arrays
