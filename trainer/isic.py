"""The ISIC archive's challenge training sets: ISIC 2019 and ISIC 2020 (mapping to our classes: docs/data.md).

ISIC 2019: ``ISIC_2019_Training_GroundTruth.csv`` (``image`` and one-hot MEL, NV, BCC, AK, BKL, DF, VASC,
SCC, UNK), images in ``ISIC_2019_Training_Input/``, and optionally ``ISIC_2019_Training_Metadata.csv``
(``image, age_approx, anatom_site_general, lesion_id, sex``) whose ``lesion_id`` groups the split.

ISIC 2020: ``train.csv`` (also under its archive name ``ISIC_2020_Training_GroundTruth[_v2].csv``) with
``image_name, patient_id, [lesion_id,] sex, age_approx, anatom_site_general_challenge, diagnosis,
benign_malignant, target``, images in ``train/`` (``jpeg/train/`` in some mirrors); grouped by patient.
"""

from __future__ import annotations

import csv
from pathlib import Path

from trainer.datasets import DatasetError, LabelledFile, find_image
from trainer.info import CLASS_CODES, CODE_TO_INDEX

ISIC2019_GROUND_TRUTH = "ISIC_2019_Training_GroundTruth.csv"
ISIC2019_METADATA = "ISIC_2019_Training_Metadata.csv"
ISIC2019_IMAGE_FOLDERS = ("ISIC_2019_Training_Input", "images")
# ISIC 2019 diagnosis column -> our class code, or None to leave the image out.
ISIC2019_CLASSES: dict[str, str | None] = {code.upper(): code for code in CLASS_CODES if code != "akiec"} | {
    "AK": "akiec",
    "SCC": "akiec",
    "UNK": None,
}

ISIC2020_GROUND_TRUTH = ("train.csv", "ISIC_2020_Training_GroundTruth_v2.csv", "ISIC_2020_Training_GroundTruth.csv")
ISIC2020_COLUMNS = {"image_name", "patient_id", "diagnosis", "target"}
ISIC2020_IMAGE_FOLDERS = ("train", "jpeg/train")
# ISIC 2020 ``diagnosis`` -> our class code, or None to leave the image out.
ISIC2020_CLASSES: dict[str, str | None] = {
    "melanoma": "mel",
    "nevus": "nv",
    "seborrheic keratosis": "bkl",
    "lentigo NOS": "bkl",
    "solar lentigo": "bkl",
    "lichenoid keratosis": "bkl",
    "cafe-au-lait macule": None,
    "atypical melanocytic proliferation": None,
    "unknown": None,
}


def is_isic2019(folder: Path) -> bool:
    """Whether ``folder`` has the ISIC 2019 ground-truth file."""
    return (folder / ISIC2019_GROUND_TRUTH).is_file()


def is_isic2020(folder: Path) -> bool:
    """Whether ``folder`` has an ISIC 2020 ground-truth CSV (recognised by its columns)."""
    return _isic2020_csv(folder) is not None


def read_isic2019(data_dir: Path) -> list[LabelledFile]:
    """Every image of a mapped diagnosis, grouped by ``lesion_id`` where the metadata has one."""
    ground_truth = data_dir / ISIC2019_GROUND_TRUTH
    images_dir = _images_dir(data_dir, ISIC2019_IMAGE_FOLDERS)
    lesions = _isic2019_lesions(data_dir / ISIC2019_METADATA)
    files = []
    with ground_truth.open(newline="") as handle:
        reader = csv.DictReader(handle)
        unknown = set(reader.fieldnames or []) - set(ISIC2019_CLASSES) - {"image"}
        if "image" not in (reader.fieldnames or []) or unknown:
            raise DatasetError(
                f"{ground_truth}: expected columns image, {', '.join(ISIC2019_CLASSES)}; unknown: {sorted(unknown)}"
            )
        for line, row in enumerate(reader, start=2):
            positive = [name for name in ISIC2019_CLASSES if float(row.get(name) or 0) == 1.0]
            if len(positive) != 1:
                raise DatasetError(f"{ground_truth}, line {line}: expected exactly one diagnosis, found {positive}")
            code = ISIC2019_CLASSES[positive[0]]
            if code is None:
                continue
            image_id = row["image"].strip()
            meta = {"dataset": "isic2019", "image_type": "dermoscopic", "source": "isic2019", "diagnosis": positive[0]}
            group = lesions.get(image_id) or f"image:{image_id}"
            files.append(_labelled(image_id, images_dir, code, group, meta, ground_truth, line))
    return files


def _isic2019_lesions(metadata: Path) -> dict[str, str]:
    """``image -> lesion_id`` from the optional metadata CSV (empty lesion ids left out)."""
    if not metadata.is_file():
        return {}
    with metadata.open(newline="") as handle:
        reader = csv.DictReader(handle)
        if not {"image", "lesion_id"} <= set(reader.fieldnames or []):
            raise DatasetError(f"{metadata} lacks column(s) image and/or lesion_id")
        return {row["image"].strip(): row["lesion_id"].strip() for row in reader if (row["lesion_id"] or "").strip()}


def read_isic2020(data_dir: Path) -> list[LabelledFile]:
    """Every image of a mapped diagnosis, grouped by patient (all of a patient's lesions on one side)."""
    ground_truth = _isic2020_csv(data_dir)
    if ground_truth is None:
        raise DatasetError(f"{data_dir} has none of {', '.join(ISIC2020_GROUND_TRUTH)} with {sorted(ISIC2020_COLUMNS)}")
    images_dir = _images_dir(data_dir, ISIC2020_IMAGE_FOLDERS)
    files = []
    with ground_truth.open(newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            diagnosis, image_id = row["diagnosis"].strip(), row["image_name"].strip()
            if diagnosis not in ISIC2020_CLASSES:
                raise DatasetError(
                    f"{ground_truth}, line {line} ({image_id}): unknown diagnosis {diagnosis!r}; "
                    f"expected one of {list(ISIC2020_CLASSES)}"
                )
            if row["target"].strip() != str(int(diagnosis == "melanoma")):
                raise DatasetError(
                    f"{ground_truth}, line {line} ({image_id}): target {row['target']!r} contradicts "
                    f"diagnosis {diagnosis!r} (target is 1 for melanoma only)"
                )
            code = ISIC2020_CLASSES[diagnosis]
            if code is None:
                continue
            meta = {"dataset": "isic2020", "image_type": "dermoscopic", "source": "isic2020", "diagnosis": diagnosis}
            group = f"patient:{row['patient_id'].strip()}" if row["patient_id"].strip() else f"image:{image_id}"
            files.append(_labelled(image_id, images_dir, code, group, meta, ground_truth, line))
    return files


def _isic2020_csv(folder: Path) -> Path | None:
    for name in ISIC2020_GROUND_TRUTH:
        path = folder / name
        if path.is_file():
            with path.open(newline="") as handle:
                if set(next(csv.reader(handle), [])) >= ISIC2020_COLUMNS:
                    return path
    return None


def _images_dir(data_dir: Path, names: tuple[str, ...]) -> Path:
    for name in names:
        if (data_dir / name).is_dir():
            return data_dir / name
    raise DatasetError(f"{data_dir} has no images folder ({' or '.join(names)})")


def _labelled(
    image_id: str, images_dir: Path, code: str, group: str, meta: dict, csv_path: Path, line: int
) -> LabelledFile:
    path = find_image(images_dir, image_id)
    if path is None:
        raise DatasetError(f"{csv_path}, line {line}: no image file {images_dir / image_id}.jpg")
    return LabelledFile(image_id, path, CODE_TO_INDEX[code], group, meta)
