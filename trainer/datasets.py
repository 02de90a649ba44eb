"""Loading labelled images: the HAM10000 and MILK10k folder layouts and the NumPy layout of older tutorials.

The loaders return a :class:`LabelledImages` of preprocessed uint8 RGB arrays (N, 75, 100, 3),
integer labels in :data:`trainer.info.CLASS_CODES` order, and lesion ids where known.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from trainer.info import CLASS_CODES, CODE_TO_INDEX, NUM_CLASSES
from trainer.preprocess import (
    CHANNELS,
    INPUT_HEIGHT,
    INPUT_WIDTH,
    PREPROCESSING_SPEC,
    preprocess_file,
)

METADATA_FILE = "HAM10000_metadata.csv"
IMAGES_FOLDER = "HAM10000_images"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
DECODE_CHUNK = 512  # images decoded ahead of the copy into the cache
DEFAULT_CACHE_DIR = Path(os.environ.get("LESION_CACHE_DIR", Path.home() / ".cache" / "lesion-trainer"))


class DatasetError(ValueError):
    """A dataset problem; the message names the file or row at fault."""


@dataclass
class LabelledImages:
    """Preprocessed images with labels, in one consistent order."""

    images: np.ndarray  # (N, 75, 100, 3) uint8 RGB
    labels: np.ndarray  # (N,) int64 class indices
    image_ids: list[str]
    groups: list[str] | None  # lesion ids, or None when the source has none
    source: str
    meta: dict[str, list[str]] = field(default_factory=dict)  # per-image facts, e.g. image_type, dataset

    def __len__(self) -> int:
        return len(self.labels)

    def class_counts(self) -> dict[str, int]:
        """Number of images per class code."""
        counts = np.bincount(self.labels, minlength=NUM_CLASSES)
        return {code: int(n) for code, n in zip(CLASS_CODES, counts)}

    def domains(self) -> list[str]:
        """Per image, ``"<dataset> <image_type>"`` (e.g. ``"milk10k clinical"``), or ``"images"``."""
        datasets, types = self.meta.get("dataset"), self.meta.get("image_type")
        if datasets is None or types is None:
            return ["images"] * len(self)
        return [f"{d} {t}" for d, t in zip(datasets, types)]

    def with_repeats(self, image_type: str, repeats: int) -> LabelledImages:
        """These images, with each one of ``image_type`` present ``repeats`` times (oversampling)."""
        types = self.meta.get("image_type", [""] * len(self))
        counts = [repeats if kind == image_type else 1 for kind in types]
        return self.subset(np.repeat(np.arange(len(self)), counts)) if repeats > 1 else self

    def subset(self, keep: np.ndarray, source: str | None = None) -> LabelledImages:
        """The images at indices ``keep``, with their labels, ids, groups and facts."""
        return LabelledImages(
            self.images[keep],
            self.labels[keep],
            [self.image_ids[i] for i in keep],
            [self.groups[i] for i in keep] if self.groups else None,
            source or self.source,
            {key: [values[i] for i in keep] for key, values in self.meta.items()},
        )


@dataclass(frozen=True)
class LabelledFile:
    """One image file and its diagnosis."""

    image_id: str
    path: Path
    label: int
    group: str | None
    meta: dict[str, str] = field(default_factory=dict)

    def domain(self) -> str:
        """``"<dataset> <image_type>"`` as :meth:`LabelledImages.domains` names it, or ``"images"``."""
        if "dataset" in self.meta and "image_type" in self.meta:
            return f"{self.meta['dataset']} {self.meta['image_type']}"
        return "images"


def find_image(folder: Path, image_id: str) -> Path | None:
    """Return ``folder/<image_id>.<jpg|jpeg|png>`` if one exists."""
    for suffix in IMAGE_SUFFIXES:
        candidate = folder / f"{image_id}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def read_ham_metadata(data_dir: Path) -> list[LabelledFile]:
    """Read HAM10000_metadata.csv and resolve every row to an existing image file."""
    metadata = data_dir / METADATA_FILE
    images_dir = data_dir / IMAGES_FOLDER
    if not metadata.is_file():
        raise DatasetError(f"{metadata} not found: expected the HAM10000 layout ({METADATA_FILE} + {IMAGES_FOLDER}/)")
    if not images_dir.is_dir():
        raise DatasetError(f"{images_dir} not found: expected the HAM10000 layout")
    with metadata.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    missing_columns = {"lesion_id", "image_id", "dx"} - set(rows[0] if rows else {})
    if missing_columns:
        raise DatasetError(f"{metadata} lacks column(s) {sorted(missing_columns)}")
    return [
        _resolve_row(row, number, metadata, images_dir, _ham_facts(row)) for number, row in enumerate(rows, start=2)
    ]


def _ham_facts(row: dict) -> dict[str, str]:
    """HAM10000 images are dermoscopic; its ``dataset`` column names the source (clinic and device)."""
    return {"dataset": "ham10000", "image_type": "dermoscopic", "source": row.get("dataset") or "ham10000"}


def read_labels_csv(labels_csv: Path, images_dir: Path) -> list[LabelledFile]:
    """Read a CSV with ``image_id,dx`` columns whose images are ``images_dir/<image_id>.jpg|.png``."""
    with labels_csv.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    missing_columns = {"image_id", "dx"} - set(rows[0] if rows else {})
    if missing_columns:
        raise DatasetError(f"{labels_csv} lacks column(s) {sorted(missing_columns)}")
    return [_resolve_row(row, number, labels_csv, images_dir) for number, row in enumerate(rows, start=2)]


def _resolve_row(row: dict, line: int, csv_path: Path, images_dir: Path, meta: dict | None = None) -> LabelledFile:
    image_id, dx = (row.get("image_id") or "").strip(), (row.get("dx") or "").strip()
    if dx not in CODE_TO_INDEX:
        raise DatasetError(
            f"{csv_path}, line {line} (image_id {image_id!r}): unknown dx {dx!r}; expected one of {list(CLASS_CODES)}"
        )
    path = find_image(images_dir, image_id) if image_id else None
    if path is None:
        raise DatasetError(f"{csv_path}, line {line}: no image file {images_dir / (image_id or '?')}.jpg/.png")
    return LabelledFile(image_id, path, CODE_TO_INDEX[dx], (row.get("lesion_id") or "").strip() or None, meta or {})


def select_subset(files: list[LabelledFile], limit: int | None, seed: int) -> list[LabelledFile]:
    """Pick ``limit`` files spread over the classes (round-robin over shuffled classes)."""
    if limit is None or limit >= len(files):
        return files
    order = np.random.default_rng(seed).permutation(len(files))
    rank_in_class: Counter[int] = Counter()
    ranked = []
    for index in order:
        label = files[index].label
        ranked.append((rank_in_class[label], len(ranked), index))
        rank_in_class[label] += 1
    chosen = sorted(index for _, _, index in sorted(ranked)[:limit])
    return [files[i] for i in chosen]


def decode_files(files: list[LabelledFile], cache_dir: Path | None = DEFAULT_CACHE_DIR) -> np.ndarray:
    """Preprocess files to uint8 (N, 75, 100, 3), reusing a cache keyed by content hashes and spec.

    Images are decoded in parallel straight into the on-disk cache, and the cache is returned
    memory-mapped (read-only): memory holds the pages in use, not a second copy of every image.
    """
    shape = (len(files), INPUT_HEIGHT, INPUT_WIDTH, CHANNELS)
    if cache_dir is None or not files:
        images = np.zeros(shape, np.uint8)
        _decode_into(images, files)
        return images
    cache_path = Path(cache_dir) / f"images-{_content_key(files)}.npy"
    if not cache_path.is_file():
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = cache_path.with_suffix(f".{os.getpid()}.tmp.npy")
        images = np.lib.format.open_memmap(temporary, mode="w+", dtype=np.uint8, shape=shape)
        _decode_into(images, files)
        images.flush()
        del images
        os.replace(temporary, cache_path)
    return np.load(cache_path, mmap_mode="r")


def _decode_into(images: np.ndarray, files: list[LabelledFile]) -> None:
    """Decode ``files`` into ``images`` on all cores, a bounded chunk of decoded images in flight at a time."""
    with (
        ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool,
        tqdm(total=len(files), desc="decoding images", unit="img") as progress,
    ):
        for start in range(0, len(files), DECODE_CHUNK):
            chunk = files[start : start + DECODE_CHUNK]
            for offset, image in enumerate(pool.map(_preprocess_uint8, [f.path for f in chunk])):
                images[start + offset] = image
                progress.update()


def _preprocess_uint8(path: Path) -> np.ndarray:
    return np.clip(np.round(preprocess_file(path)), 0, 255).astype(np.uint8)


def _content_key(files: list[LabelledFile]) -> str:
    digest = hashlib.sha256(PREPROCESSING_SPEC["id"].encode())
    for f in files:
        digest.update(f.image_id.encode())
        digest.update(hashlib.sha256(f.path.read_bytes()).digest())
    return digest.hexdigest()[:24]


def load_ham10000(
    data_dir: str | Path, limit: int | None = None, seed: int = 0, cache_dir: Path | None = DEFAULT_CACHE_DIR
) -> LabelledImages:
    """Load the HAM10000 folder layout (metadata CSV + images folder)."""
    files = select_subset(read_ham_metadata(Path(data_dir)), limit, seed)
    return _from_files(files, cache_dir, source=f"HAM10000 layout at {data_dir}")


def _from_files(files: list[LabelledFile], cache_dir: Path | None, source: str) -> LabelledImages:
    groups = [f.group for f in files]
    keys = set().union(*(f.meta for f in files))
    return LabelledImages(
        images=decode_files(files, cache_dir),
        labels=np.array([f.label for f in files], dtype=np.int64),
        image_ids=[f.image_id for f in files],
        groups=groups if all(groups) else None,
        source=source,
        meta={key: [f.meta.get(key, "") for f in files] for key in sorted(keys)},
    )


def load_numpy(data_dir: str | Path, limit: int | None = None, seed: int = 0) -> LabelledImages:
    """Load ``X.npy`` (N,75,100,3 uint8 RGB) and ``y.npy`` (indices or one-hot) of older tutorials."""
    data_dir = Path(data_dir)
    x_path, y_path, gray_path = data_dir / "X.npy", data_dir / "y.npy", data_dir / "X_g.npy"
    if not x_path.is_file():
        if gray_path.is_file():
            raise DatasetError(
                f"{data_dir} has only the grayscale X_g.npy: the model classifies colour photos and needs "
                "colour X.npy (N,75,100,3 RGB)"
            )
        raise DatasetError(f"{x_path} not found")
    if not y_path.is_file():
        raise DatasetError(f"{y_path} not found")
    images = _load_array(x_path)
    labels = _labels_from_array(_load_array(y_path), y_path)
    expected = (INPUT_HEIGHT, INPUT_WIDTH, CHANNELS)
    if images.ndim != 4 or images.shape[1:] != expected:
        raise DatasetError(f"{x_path} has shape {images.shape}; expected (N, {', '.join(map(str, expected))})")
    if len(images) != len(labels):
        raise DatasetError(f"{x_path} has {len(images)} images but {y_path} has {len(labels)} labels")
    images = _as_uint8(images, x_path)
    if gray_path.is_file():
        _check_gray(gray_path, len(images))
    files = [LabelledFile(str(i), x_path, int(label), None) for i, label in enumerate(labels)]
    chosen = [int(f.image_id) for f in select_subset(files, limit, seed)]
    return LabelledImages(images[chosen], labels[chosen], [str(i) for i in chosen], None, f"NumPy layout at {data_dir}")


def _load_array(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise DatasetError(f"cannot read {path}: {err}") from err


def _labels_from_array(y: np.ndarray, path: Path) -> np.ndarray:
    if y.ndim == 2 and y.shape[1] == NUM_CLASSES:
        if not np.all(np.isfinite(y)) or not np.allclose(y.sum(axis=1), 1) or not np.all((y == 0) | (y == 1)):
            raise DatasetError(f"{path}: one-hot rows must contain a single 1 and zeros elsewhere")
        return y.argmax(axis=1).astype(np.int64)
    if y.ndim != 1:
        raise DatasetError(f"{path} has shape {y.shape}; expected (N,) class indices or (N, {NUM_CLASSES}) one-hot")
    if not np.issubdtype(y.dtype, np.integer) and (not np.all(np.isfinite(y)) or not np.all(y == np.round(y))):
        raise DatasetError(f"{path}: labels must be whole numbers (found NaN or fractions)")
    if y.size and (y.min() < 0 or y.max() >= NUM_CLASSES):
        bad = int(np.flatnonzero((y < 0) | (y >= NUM_CLASSES))[0])
        raise DatasetError(f"{path}: label {y[bad]} at row {bad} is outside 0..{NUM_CLASSES - 1}")
    return y.astype(np.int64)


def _as_uint8(images: np.ndarray, path: Path) -> np.ndarray:
    if images.dtype == np.uint8:
        return images
    if not np.issubdtype(images.dtype, np.number):
        raise DatasetError(f"{path} has dtype {images.dtype}; expected uint8 RGB")
    if not np.all(np.isfinite(images)):
        raise DatasetError(f"{path} contains NaN or infinite pixel values")
    if images.min() < 0 or images.max() > 255:
        raise DatasetError(f"{path} pixel values span {images.min()}..{images.max()}; expected 0..255")
    return np.round(images).astype(np.uint8)


def _check_gray(path: Path, count: int) -> None:
    gray = np.load(path, mmap_mode="r", allow_pickle=False)
    if gray.shape[0] != count or gray.shape[1:3] != (INPUT_HEIGHT, INPUT_WIDTH):
        raise DatasetError(f"{path} has shape {gray.shape}; expected ({count}, {INPUT_HEIGHT}, {INPUT_WIDTH}[, 1])")
    print(f"note: {path.name} (grayscale) is accepted but unused: the colour model trains on X.npy")


def _file_layout(data_dir: Path) -> tuple[str, Callable[[Path], list[LabelledFile]]] | None:
    """The name and reader of the image-file layout of ``data_dir``, detected from its files, or None."""
    from trainer import isic, milk10k

    layouts = (
        ("HAM10000", lambda folder: (folder / METADATA_FILE).is_file(), read_ham_metadata),
        ("MILK10k", milk10k.is_milk10k, milk10k.read_milk10k),
        ("ISIC 2019", isic.is_isic2019, isic.read_isic2019),
        ("ISIC 2020", isic.is_isic2020, isic.read_isic2020),
    )
    return next(((name, read) for name, found, read in layouts if found(data_dir)), None)


def read_labelled_files(data_dir: str | Path) -> list[LabelledFile]:
    """The labelled image files of a HAM10000-, MILK10k-, ISIC 2019- or ISIC 2020-layout folder."""
    data_dir = Path(data_dir)
    layout = _file_layout(data_dir)
    return layout[1](data_dir) if layout else read_ham_metadata(data_dir)


def load_dataset(
    data_dir: str | Path, limit: int | None = None, seed: int = 0, exclude: frozenset[str] = frozenset()
) -> LabelledImages:
    """Load a dataset folder in any known layout, detected from its files, leaving out the ``exclude`` ids."""
    from trainer.isic import ISIC2019_GROUND_TRUTH, ISIC2020_GROUND_TRUTH
    from trainer.milk10k import GROUND_TRUTH_FILE

    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DatasetError(f"dataset folder {data_dir} does not exist")
    layout = _file_layout(data_dir)
    if layout is not None:
        name, read = layout
        files = read(data_dir)
        kept = [f for f in files if f.image_id not in exclude]
        if len(kept) < len(files):
            print(f"{data_dir}: left out {len(files) - len(kept)} image(s) already loaded from an earlier --data")
        return _from_files(select_subset(kept, limit, seed), DEFAULT_CACHE_DIR, source=f"{name} layout at {data_dir}")
    if any((data_dir / name).is_file() for name in ("X.npy", "y.npy", "X_g.npy")):
        return load_numpy(data_dir, limit, seed)
    raise DatasetError(
        f"{data_dir} holds none of {METADATA_FILE} (HAM10000 layout), {GROUND_TRUTH_FILE} (MILK10k layout), "
        f"{ISIC2019_GROUND_TRUTH} (ISIC 2019), {' or '.join(ISIC2020_GROUND_TRUTH)} (ISIC 2020) "
        "or X.npy/y.npy (NumPy layout)"
    )


def load_datasets(data_dirs: list[Path], limit: int | None = None, seed: int = 0) -> LabelledImages:
    """Load one or more dataset folders and concatenate them (``--data A --data B``).

    An image id met again in a later folder is left out there (the ISIC 2019 set contains HAM10000).
    """
    parts: list[LabelledImages] = []
    for data_dir in data_dirs:
        parts.append(load_dataset(data_dir, limit, seed, frozenset(i for p in parts for i in p.image_ids)))
    if len(parts) == 1:
        return parts[0]
    keys = set().union(*(p.meta for p in parts))
    grouped = all(p.groups is not None for p in parts)
    return LabelledImages(
        images=np.concatenate([p.images for p in parts]),
        labels=np.concatenate([p.labels for p in parts]),
        image_ids=[i for p in parts for i in p.image_ids],
        groups=[g for p in parts for g in p.groups] if grouped else None,
        source=" + ".join(p.source for p in parts),
        meta={key: [v for p in parts for v in p.meta.get(key, [""] * len(p))] for key in sorted(keys)},
    )
