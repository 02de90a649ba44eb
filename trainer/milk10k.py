"""The MILK10k layout (ISIC 2025): one clinical close-up and one dermoscopic image per lesion.

``MILK10k_Training_GroundTruth.csv`` holds one one-hot row per lesion, ``MILK10k_Training_Metadata.csv``
one row per image (``image_type``, ``isic_id``, ``skin_tone_class``, ...), and the images are
``images/<isic_id>.jpg`` (``images_train/`` in the original download).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from trainer.datasets import DatasetError, LabelledFile, find_image
from trainer.info import CLASS_CODES, CODE_TO_INDEX

GROUND_TRUTH_FILE = "MILK10k_Training_GroundTruth.csv"
METADATA_FILE = "MILK10k_Training_Metadata.csv"
IMAGE_FOLDERS = ("images", "images_train")
# MILK10k diagnosis -> our class code, or None to leave the lesion out (rationale in docs/data.md).
CLASS_MAP: dict[str, str | None] = {code.upper(): code for code in CLASS_CODES} | {
    "SCCKA": "akiec",
    "INF": None,
    "BEN_OTH": None,
    "MAL_OTH": None,
}
IMAGE_TYPES = {"clinical: close-up": "clinical", "dermoscopic": "dermoscopic"}


def is_milk10k(folder: Path) -> bool:
    """Whether ``folder`` has the MILK10k ground-truth file."""
    return (folder / GROUND_TRUTH_FILE).is_file()


class LeftOutImage(NamedTuple):
    """An image of a lesion whose diagnosis has no class here."""

    image_id: str
    path: Path
    diagnosis: str
    image_type: str


def read_milk10k(data_dir: Path) -> list[LabelledFile]:
    """Every image of a mapped diagnosis, labelled through :data:`CLASS_MAP`, grouped by lesion."""
    files = []
    for row, diagnosis, path in _image_rows(data_dir):
        code = CLASS_MAP[diagnosis]
        if code is None:
            continue
        meta = {
            "dataset": "milk10k",
            "image_type": _image_type(row),
            "source": "milk10k",
            "diagnosis": diagnosis,
            "skin_tone": row.get("skin_tone_class", ""),
        }
        files.append(LabelledFile(row["isic_id"], path, CODE_TO_INDEX[code], f"milk10k:{row['lesion_id']}", meta))
    return files


def read_left_out(data_dir: Path) -> list[LeftOutImage]:
    """Every image of a diagnosis :data:`CLASS_MAP` leaves out (no class of ours describes it)."""
    return [
        LeftOutImage(row["isic_id"], path, diagnosis, _image_type(row))
        for row, diagnosis, path in _image_rows(data_dir)
        if CLASS_MAP[diagnosis] is None
    ]


def _image_type(row: dict) -> str:
    return IMAGE_TYPES.get(row.get("image_type", ""), row.get("image_type", ""))


def _image_rows(data_dir: Path) -> Iterator[tuple[dict, str, Path]]:
    """Each metadata row with its lesion's MILK10k diagnosis and its image file."""
    diagnoses = _read_ground_truth(data_dir / GROUND_TRUTH_FILE)
    images_dir = next((data_dir / name for name in IMAGE_FOLDERS if (data_dir / name).is_dir()), None)
    if images_dir is None:
        raise DatasetError(f"{data_dir} has no images folder ({' or '.join(IMAGE_FOLDERS)})")
    metadata = data_dir / METADATA_FILE
    if not metadata.is_file():
        raise DatasetError(f"{metadata} not found: expected the MILK10k layout")
    with metadata.open(newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            lesion, image_id = row.get("lesion_id", ""), row.get("isic_id", "")
            if lesion not in diagnoses:
                raise DatasetError(f"{metadata}, line {line}: lesion {lesion!r} is not in {GROUND_TRUTH_FILE}")
            path = find_image(images_dir, image_id)
            if path is None:
                raise DatasetError(f"{metadata}, line {line}: no image file {images_dir / image_id}.jpg")
            yield row, diagnoses[lesion], path


def _read_ground_truth(path: Path) -> dict[str, str]:
    if not path.is_file():
        raise DatasetError(f"{path} not found: expected the MILK10k layout")
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        unknown = set(reader.fieldnames or []) - set(CLASS_MAP) - {"lesion_id"}
        if unknown:
            raise DatasetError(f"{path}: unknown diagnosis column(s) {sorted(unknown)}")
        diagnoses = {}
        for line, row in enumerate(reader, start=2):
            positive = [name for name in CLASS_MAP if float(row.get(name) or 0) == 1.0]
            if len(positive) != 1:
                raise DatasetError(f"{path}, line {line}: expected exactly one diagnosis, found {positive}")
            diagnoses[row["lesion_id"]] = positive[0]
    return diagnoses
