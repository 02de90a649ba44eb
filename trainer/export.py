"""Exporting to TF.js layers format, writing the manifest, and swapping the folder in atomically."""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from fnmatch import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from trainer.info import classes_for_manifest
from trainer.preprocess import PREPROCESSING_SPEC

if TYPE_CHECKING:
    from trainer.keras_backend import keras

MANIFEST_FILE = "manifest.json"
MODEL_FILE = "model.json"
MODEL_CARD_FILES = ("model-card.md", "model-card.json")
MANIFEST_FORMAT = 1
# Weight quantisation for the TF.js export (weights are de-quantised on load: smaller download, same speed).
# The converter quantises per tensor. uint8 is applied only to the large 1x1 (pointwise) kernels of the
# deeper blocks (8-15), the 1280-channel head and the dense head, which hold most of the bytes. Measured on
# the shipped EfficientNet-Lite0 (validation split): uint8 on every pointwise kernel changed the top class of
# 7.2% of images (3.96 MB); sparing blocks 0-7, whose errors every later layer amplifies, 4.5% (4.18 MB);
# float16 throughout 0.2% (7.4 MB, over the 5 MB budget). Stem and depthwise kernels, whose ranges are
# dominated by a few outlier channels, always stay float16.
UINT8_KERNELS = [f"*block{block}_{kind}_conv/kernel" for block in range(8, 16) for kind in ("expand", "project")] + [
    "*head_conv/kernel",
    "head_dense/kernel",
]
QUANTIZATION_MAPS: dict[str, dict | None] = {
    "none": None,
    "float16": {"float16": True},
    "uint8": {"uint8": UINT8_KERNELS, "float16": True},
}
# The OOD score's layers (trainer/ood.py) stay float32: their weights scale with the inverse standard deviation
# of the features, which can exceed float16's range, and they are small (about 70 000 weights for 256 features).
# So does the photo-type unit (trainer/photo_type.py, 1 281 weights), fitted after the weights were rounded.
FLOAT32_LAYER_PREFIXES = ("ood_", "photo_type")
# What a faithful export must reproduce. The Keras model it is compared with has its weights rounded as the
# export stores them (:func:`round_like_export`), so only float arithmetic separates the two; a broken export
# (wrong weights or topology) misses by far. What quantisation costs is reported apart, as metrics.
EXPORT_TOLERANCE = (1e-4, 0.999)  # max |p_exported - p_keras|, top-class agreement
OOD_EXPORT_TOLERANCE = (1e-3, 0.999)  # max |s_exported - s_keras| / median s_keras, rank correlation


class ExportError(RuntimeError):
    """The exported model failed its checks; the previous model folder was left untouched."""


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def file_inventory(folder: Path) -> list[dict]:
    """Path, size and sha256 of every file under ``folder`` except the manifest and the model card, which is
    written after the manifest because it names the manifest's hash."""
    return [
        {"path": p.relative_to(folder).as_posix(), "bytes": p.stat().st_size, "sha256": sha256_of(p)}
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in (MANIFEST_FILE, *MODEL_CARD_FILES)
    ]


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shaped the exported model."""
    import cv2
    import sklearn
    import tensorflowjs

    from trainer.keras_backend import keras, tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "tf_keras": keras.__version__,
        "tensorflowjs": tensorflowjs.__version__,
        "opencv": cv2.__version__,
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
    }


def quantization_map(model: keras.Model, quantization: str) -> dict | None:
    """The converter's quantisation map for ``model``: :data:`QUANTIZATION_MAPS`, except that the weights of
    layers named ``FLOAT32_LAYER_PREFIXES*`` stay float32."""
    base = QUANTIZATION_MAPS[quantization]
    names = [weight.name.split(":")[0] for weight in model.weights]
    if base is None or not any(name.startswith(FLOAT32_LAYER_PREFIXES) for name in names):
        return base
    uint8 = base.get("uint8", [])
    float16 = [
        name
        for name in names
        if not name.startswith(FLOAT32_LAYER_PREFIXES) and not any(fnmatch(name, pattern) for pattern in uint8)
    ]
    return {**base, "float16": float16}


def _tensorflowjs():
    """The tensorflowjs package, imported after :mod:`trainer.keras_backend` has set up TensorFlow."""
    import trainer.keras_backend  # noqa: F401

    # isort: split
    import tensorflowjs
    import tensorflowjs.converters
    import tensorflowjs.quantization

    return tensorflowjs


def round_like_export(model: keras.Model, quantization: str) -> None:
    """Round ``model``'s weights in place as the export stores them (quantise, then de-quantise with the
    converter's own functions), so that what is fitted on it afterwards sees the weights the page runs."""
    quantization_module = _tensorflowjs().quantization
    dequantize_weights, quantize_weights = quantization_module.dequantize_weights, quantization_module.quantize_weights
    map_layers_to_quantization_dtype = quantization_module.map_layers_to_quantization_dtype

    names = [weight.name.split(":")[0] for weight in model.weights]
    dtypes = map_layers_to_quantization_dtype(names, quantization_map(model, quantization))
    for weight, name in zip(model.weights, names):
        if name in dtypes:
            quantized, metadata = quantize_weights(weight.numpy(), dtypes[name])
            weight.assign(dequantize_weights(quantized, metadata, np.float32))


def save_tfjs(model: keras.Model, folder: Path, quantization: str) -> None:
    """Write ``model.json`` + ``group1-shardNofM.bin`` (4 MiB shards) into ``folder``."""
    tensorflowjs = _tensorflowjs()
    quantization_dtype_map = quantization_map(model, quantization)
    tensorflowjs.converters.save_keras_model(model, str(folder), quantization_dtype_map=quantization_dtype_map)


def load_tfjs(folder: str | Path) -> keras.Model:
    """Load an exported TF.js layers model back into tf-keras (weights de-quantised)."""
    from trainer.keras_backend import keras
    from trainer.models.layers import CUSTOM_OBJECTS

    with keras.utils.custom_object_scope(CUSTOM_OBJECTS):
        return _tensorflowjs().converters.load_keras_model(str(Path(folder) / MODEL_FILE))


def build_manifest(folder: Path, model_info: dict, extra: dict) -> dict:
    """The manifest: classes, preprocessing spec, model facts, file hashes, plus build facts in ``extra``."""
    return {
        "format_version": MANIFEST_FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": {"file": MODEL_FILE, "format": "tfjs-layers", **model_info},
        "classes": classes_for_manifest(),
        "preprocessing": PREPROCESSING_SPEC,
        **extra,
        "versions": library_versions(),
        "files": file_inventory(folder),
    }


def write_json(path: Path, data: dict) -> None:
    """Write indented JSON with a trailing newline."""
    path.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n")


def verify_export(exported: np.ndarray | list[np.ndarray], reference: np.ndarray | list[np.ndarray]) -> float:
    """Compare the reloaded export's outputs with those of the Keras model it was saved from (weights rounded
    by :func:`round_like_export`); raise if they disagree.

    Outputs are the probabilities, or ``[probabilities, ood_score]`` for a model with an OOD output, then
    ``photo_type`` for a model that tells photo types apart. Returns the largest probability difference.
    """
    exported = exported if isinstance(exported, list) else [exported]
    reference = reference if isinstance(reference, list) else [reference]
    if len(exported) != len(reference):
        raise ExportError("the exported model and the Keras model have different numbers of outputs")
    if len(reference) > 1:
        _verify_ood_scores(exported[1], reference[1])
    if len(reference) > 2:
        _verify_probabilities("photo type", exported[2], reference[2])
    return _verify_probabilities("class", exported[0], reference[0])


def _choice(probabilities: np.ndarray) -> np.ndarray:
    """The top class of softmax rows, or the side of 0.5 of one sigmoid output."""
    return probabilities.argmax(axis=1) if probabilities.shape[-1] > 1 else np.ravel(probabilities) >= 0.5


def _verify_probabilities(name: str, exported: np.ndarray, reference: np.ndarray) -> float:
    """Raise if exported probabilities differ from the Keras ones, or the choice made from them changes too often."""
    difference = float(np.abs(exported - reference).max())
    agreement = float((_choice(exported) == _choice(reference)).mean())
    max_difference, min_agreement = EXPORT_TOLERANCE
    if difference > max_difference or agreement < min_agreement:
        raise ExportError(
            f"exported model's {name} probabilities differ from Keras (max |dp| {difference:.2e}, agreement "
            f"{agreement:.3f}; allowed {max_difference} and {min_agreement}): the export is broken; "
            "the previous model folder is untouched"
        )
    return difference


def _verify_ood_scores(exported: np.ndarray, reference: np.ndarray) -> None:
    """Raise if the exported OOD scores stray from the Keras ones by more than float arithmetic explains."""
    from scipy.stats import spearmanr

    exported, reference = np.ravel(exported), np.ravel(reference)
    relative = float(np.abs(exported - reference).max() / np.median(np.abs(reference)))
    correlation = float(spearmanr(exported, reference).statistic) if len(reference) > 1 else 1.0
    max_relative, min_correlation = OOD_EXPORT_TOLERANCE
    if relative > max_relative or correlation < min_correlation:
        raise ExportError(
            f"exported OOD score differs from Keras (max |ds| / median s {relative:.2e}, rank correlation "
            f"{correlation:.3f}; allowed {max_relative} and {min_correlation}): the export is broken; the previous "
            "model folder is untouched"
        )


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with Linux renameat2(RENAME_EXCHANGE); False where unsupported."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name or platform.system() != "Linux":
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    if not hasattr(libc, "renameat2"):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return libc.renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def publish(staging: Path, out: Path) -> None:
    """Replace ``out`` by ``staging``: one atomic exchange where possible, else two renames."""
    if not out.exists():
        os.replace(staging, out)
        return
    if _exchange(staging, out):
        shutil.rmtree(staging)
        return
    retired = out.with_name(f".{out.name}.old-{os.getpid()}")
    os.replace(out, retired)
    os.replace(staging, out)
    shutil.rmtree(retired)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_staging(out: Path) -> list[Path]:
    """Delete the staging and retired folders of ``out`` whose build process is gone (killed builds)."""
    removed = []
    for folder in out.parent.glob(f".{out.name}.*-*"):
        kind, _, rest = folder.name.removeprefix(f".{out.name}.").partition("-")
        pid = rest.split("-", 1)[0]
        if kind in ("staging", "old") and pid.isdigit() and folder.is_dir() and not _process_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def export_atomically(out: Path, write: Callable[[Path], None]) -> None:
    """Run ``write(staging_folder)`` in a sibling temporary folder and publish it only if it succeeds."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(out)
    # The PID in the name tells a later build whether this folder's build is still running.
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-{os.getpid()}-", dir=out.parent))
    try:
        write(staging)
        staging.chmod(0o755)
        publish(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
