"""The ISIC 2019 and 2020 layouts: labels mapped to our classes, grouping kept, duplicates across sources removed."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.image_factory import lesion_like, write_ham_layout, write_rgb
from trainer.datasets import DatasetError, load_dataset, load_datasets, read_labelled_files
from trainer.info import CODE_TO_INDEX
from trainer.isic import ISIC2019_CLASSES, ISIC2020_CLASSES
from trainer.splits import make_split

# (image id, ISIC 2019 diagnosis column, lesion id or "" for none)
ISIC2019_ROWS = [
    ("ISIC_1000001", "MEL", "BCN_1"),
    ("ISIC_1000002", "MEL", "BCN_1"),
    ("ISIC_1000003", "NV", ""),
    ("ISIC_1000004_downsampled", "BCC", ""),
    ("ISIC_1000005", "AK", "BCN_2"),
    ("ISIC_1000006", "SCC", "BCN_3"),
    ("ISIC_1000007", "BKL", "BCN_4"),
    ("ISIC_1000008", "DF", "BCN_5"),
    ("ISIC_1000009", "VASC", "BCN_6"),
    ("ISIC_1000010", "UNK", "BCN_7"),
]
# (image name, patient, diagnosis)
ISIC2020_ROWS = [
    ("ISIC_2000001", "IP_1", "melanoma"),
    ("ISIC_2000002", "IP_1", "nevus"),
    ("ISIC_2000003", "IP_2", "unknown"),
    ("ISIC_2000004", "IP_2", "seborrheic keratosis"),
    ("ISIC_2000005", "IP_3", "lentigo NOS"),
    ("ISIC_2000006", "IP_3", "solar lentigo"),
    ("ISIC_2000007", "IP_4", "lichenoid keratosis"),
    ("ISIC_2000008", "IP_4", "cafe-au-lait macule"),
    ("ISIC_2000009", "IP_5", "atypical melanocytic proliferation"),
    ("ISIC_2000010", "IP_5", "nevus"),
]


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def write_isic2019_layout(folder: Path, rows=ISIC2019_ROWS, metadata: bool = True) -> Path:
    """Ground truth (one-hot), optional metadata and images, as the ISIC 2019 download has them."""
    images = folder / "ISIC_2019_Training_Input"
    images.mkdir(parents=True, exist_ok=True)
    columns = list(ISIC2019_CLASSES)
    table = [[image] + [float(c == diagnosis) for c in columns] for image, diagnosis, _ in rows]
    _write_csv(folder / "ISIC_2019_Training_GroundTruth.csv", ["image", *columns], table)
    if metadata:
        header = ["image", "age_approx", "anatom_site_general", "lesion_id", "sex"]
        _write_csv(
            folder / "ISIC_2019_Training_Metadata.csv", header, [[i, 50, "torso", les, "male"] for i, _, les in rows]
        )
    for n, (image, _, _) in enumerate(rows):
        write_rgb(images / f"{image}.jpg", lesion_like(120, 160, seed=n))
    return folder


def write_isic2020_layout(folder: Path, rows=ISIC2020_ROWS) -> Path:
    """``train.csv`` and ``train/`` JPEGs, as the ISIC 2020 download has them."""
    images = folder / "train"
    images.mkdir(parents=True, exist_ok=True)
    header = ["image_name", "patient_id", "lesion_id", "sex", "age_approx", "anatom_site_general_challenge"]
    header += ["diagnosis", "benign_malignant", "target"]
    table = []
    for n, (image, patient, diagnosis) in enumerate(rows):
        melanoma = diagnosis == "melanoma"
        table.append(
            [image, patient, f"L_{n}", "female", 45, "torso", diagnosis, "malignant" if melanoma else "benign"]
        )
        table[-1].append(int(melanoma))
        write_rgb(images / f"{image}.jpg", lesion_like(120, 160, seed=100 + n))
    _write_csv(folder / "train.csv", header, table)
    return folder


@pytest.fixture(scope="module")
def isic2019(tmp_path_factory) -> Path:
    return write_isic2019_layout(tmp_path_factory.mktemp("isic2019"))


@pytest.fixture(scope="module")
def isic2020(tmp_path_factory) -> Path:
    return write_isic2020_layout(tmp_path_factory.mktemp("isic2020"))


def test_isic2019_labels_follow_the_documented_mapping(isic2019):
    data = load_dataset(isic2019)
    expected = {image: diagnosis for image, diagnosis, _ in ISIC2019_ROWS if diagnosis != "UNK"}
    assert data.image_ids == list(expected)  # UNK left out, order kept
    assert data.meta["diagnosis"] == list(expected.values())
    assert [int(label) for label in data.labels] == [CODE_TO_INDEX[ISIC2019_CLASSES[d]] for d in expected.values()]
    assert data.class_counts() == {"akiec": 2, "bcc": 1, "bkl": 1, "df": 1, "mel": 2, "nv": 1, "vasc": 1}
    assert set(data.domains()) == {"isic2019 dermoscopic"}
    assert data.images.shape == (9, 75, 100, 3) and data.images.dtype == np.uint8


def test_isic2019_groups_by_lesion_and_isolates_images_without_one(isic2019):
    data = load_dataset(isic2019)
    groups = dict(zip(data.image_ids, data.groups))
    assert groups["ISIC_1000001"] == groups["ISIC_1000002"] == "BCN_1"
    assert groups["ISIC_1000003"] == "image:ISIC_1000003"
    assert len(set(groups.values())) == 8


def test_isic2019_metadata_is_optional(tmp_path):
    data = load_dataset(write_isic2019_layout(tmp_path / "isic", ISIC2019_ROWS[:3], metadata=False))
    assert data.groups == [f"image:{image}" for image, _, _ in ISIC2019_ROWS[:3]]


def test_isic2019_rejects_a_row_with_two_diagnoses(tmp_path, isic2019):
    copy = shutil.copytree(isic2019, tmp_path / "isic")
    path = copy / "ISIC_2019_Training_GroundTruth.csv"
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace("0.0", "1.0", 1)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match=r"line 4: expected exactly one diagnosis"):
        load_dataset(copy)


def test_isic2020_labels_follow_the_documented_mapping_and_group_by_patient(isic2020):
    data = load_dataset(isic2020)
    kept = [(image, patient, d) for image, patient, d in ISIC2020_ROWS if ISIC2020_CLASSES[d] is not None]
    assert data.image_ids == [image for image, _, _ in kept]
    assert [int(label) for label in data.labels] == [CODE_TO_INDEX[ISIC2020_CLASSES[d]] for _, _, d in kept]
    assert data.class_counts() == {"akiec": 0, "bcc": 0, "bkl": 4, "df": 0, "mel": 1, "nv": 2, "vasc": 0}
    assert data.groups == [f"patient:{patient}" for _, patient, _ in kept]
    assert set(data.domains()) == {"isic2020 dermoscopic"}


def test_isic2020_rejects_unknown_diagnoses_and_contradicting_targets(tmp_path):
    rows = [("ISIC_2000001", "IP_1", "melanoma"), ("ISIC_2000002", "IP_1", "basal cell carcinoma")]
    with pytest.raises(DatasetError, match=r"line 3 \(ISIC_2000002\): unknown diagnosis 'basal cell carcinoma'"):
        load_dataset(write_isic2020_layout(tmp_path / "a", rows))
    folder = write_isic2020_layout(tmp_path / "b", rows[:1])
    path = folder / "train.csv"
    path.write_text(path.read_text().replace("malignant,1", "malignant,0"))
    with pytest.raises(DatasetError, match=r"target '0' contradicts diagnosis 'melanoma'"):
        load_dataset(folder)


def test_isic_layouts_serve_evaluate_too(isic2019, isic2020):
    assert len(read_labelled_files(isic2019)) == 9 and len(read_labelled_files(isic2020)) == 7


def test_sources_combine_and_duplicate_image_ids_are_loaded_once(tmp_path, isic2020):
    ham = write_ham_layout(tmp_path / "ham", per_class=2)
    ham_rows = list(csv.DictReader((ham / "HAM10000_metadata.csv").open()))
    # ISIC 2019 holds HAM10000's images under the same ids (and lesion ids), besides its own.
    overlap = [(row["image_id"], row["dx"].upper().replace("AKIEC", "AK"), row["lesion_id"]) for row in ham_rows[:5]]
    isic2019 = write_isic2019_layout(tmp_path / "isic2019", overlap + ISIC2019_ROWS[:4])
    for image_id, _, _ in overlap:  # the same photo in both downloads
        shutil.copy(ham / "HAM10000_images" / f"{image_id}.jpg", isic2019 / "ISIC_2019_Training_Input")

    data = load_datasets([ham, isic2019, isic2020])
    assert len(data.image_ids) == len(set(data.image_ids)) == len(ham_rows) + 4 + 7
    assert data.image_ids[: len(ham_rows)] == [row["image_id"] for row in ham_rows]  # kept from the first --data
    assert data.meta["dataset"].count("isic2019") == 4
    assert set(data.domains()) == {"ham10000 dermoscopic", "isic2019 dermoscopic", "isic2020 dermoscopic"}
    assert len(data.groups) == len(data)
    split = make_split("grouped", data.labels, data.groups, seed=0)
    sides = [set(np.asarray(data.groups)[part]) for part in (split.train, split.validation, split.test)]
    assert not (sides[0] & sides[1] or sides[0] & sides[2] or sides[1] & sides[2])


def test_decode_cache_is_memory_mapped(isic2019):
    data = load_dataset(isic2019)
    assert isinstance(data.images, np.memmap) and not data.images.flags.writeable
