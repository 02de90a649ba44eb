"""Dataset loaders: both layouts, their validation errors, and the decoded-image cache."""

import csv
import shutil
from collections import Counter

import numpy as np
import pytest

from tests.image_factory import lesion_like, write_ham_layout, write_milk_layout, write_rgb
from trainer.datasets import DatasetError, decode_files, load_dataset, read_ham_metadata
from trainer.preprocess import ImageDecodeError


@pytest.fixture
def ham_copy(tmp_path, ham_layout):
    return shutil.copytree(ham_layout, tmp_path / "ham")


def _rewrite_metadata(folder, edit):
    path = folder / "HAM10000_metadata.csv"
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    edit(rows)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_loads_ham_layout_with_labels_and_lesion_ids(ham_layout, tmp_path):
    data = load_dataset(ham_layout)
    assert data.images.shape == (42, 75, 100, 3) and data.images.dtype == np.uint8
    assert data.class_counts() == dict.fromkeys(["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"], 6)
    assert data.groups is not None and len(set(data.groups)) == 21


def test_limit_spreads_over_classes(ham_layout):
    data = load_dataset(ham_layout, limit=14)
    assert len(data) == 14 and set(data.class_counts().values()) == {2}


def test_unknown_dx_names_the_row(ham_copy):
    _rewrite_metadata(ham_copy, lambda rows: rows[3].update(dx="melanomaa"))
    with pytest.raises(DatasetError, match=r"line 5.*unknown dx 'melanomaa'"):
        read_ham_metadata(ham_copy)


def test_row_without_image_names_the_file(ham_copy):
    _rewrite_metadata(ham_copy, lambda rows: rows.append({**rows[0], "image_id": "ISIC_9999999"}))
    with pytest.raises(DatasetError, match="ISIC_9999999"):
        read_ham_metadata(ham_copy)


def test_corrupt_image_names_the_file(ham_copy):
    victim = sorted((ham_copy / "HAM10000_images").iterdir())[5]
    victim.write_bytes(victim.read_bytes()[:40])
    with pytest.raises(ImageDecodeError, match=victim.name):
        load_dataset(ham_copy)


def test_cache_is_reused_and_keyed_by_content(ham_copy, tmp_path):
    files = read_ham_metadata(ham_copy)
    cache = tmp_path / "cache"
    first = decode_files(files, cache)
    assert len(list(cache.iterdir())) == 1
    assert np.array_equal(decode_files(files, cache), first)
    write_rgb(files[0].path, lesion_like(150, 200, seed=999))
    changed = decode_files(files, cache)
    assert len(list(cache.iterdir())) == 2 and not np.array_equal(changed[0], first[0])


def _write_numpy(folder, x, y):
    folder.mkdir(exist_ok=True)
    np.save(folder / "X.npy", x)
    np.save(folder / "y.npy", y)
    return folder


def test_numpy_layout_with_indices_and_one_hot(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (14, 75, 100, 3), dtype=np.uint8)
    y = np.arange(14) % 7
    by_index = load_dataset(_write_numpy(tmp_path / "a", x, y))
    one_hot = load_dataset(_write_numpy(tmp_path / "b", x, np.eye(7)[y]))
    assert np.array_equal(by_index.labels, y) and np.array_equal(one_hot.labels, y)
    assert by_index.groups is None and np.array_equal(by_index.images, x)


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        (np.zeros((4, 75, 100), np.uint8), np.zeros(4, int), r"shape \(4, 75, 100\)"),
        (np.zeros((4, 75, 100, 3), np.uint8), np.zeros(5, int), "4 images but .* 5 labels"),
        (np.zeros((4, 75, 100, 3), np.uint8), np.array([0, 1, 7, 2]), "label 7 at row 2"),
        (np.zeros((4, 75, 100, 3), np.uint8), np.array([0, 1, np.nan, 2]), "NaN"),
        (np.full((4, 75, 100, 3), np.nan, np.float32), np.zeros(4, int), "NaN"),
        (np.full((4, 75, 100, 3), 300.0), np.zeros(4, int), "0..255"),
    ],
)
def test_numpy_layout_validation(tmp_path, x, y, message):
    with pytest.raises(DatasetError, match=message):
        load_dataset(_write_numpy(tmp_path / "d", x, y))


def test_grayscale_only_numpy_layout_is_explained(tmp_path):
    np.save(tmp_path / "X_g.npy", np.zeros((3, 75, 100), np.uint8))
    with pytest.raises(DatasetError, match="colour"):
        load_dataset(tmp_path)


def test_corrupt_npy_names_the_file(tmp_path):
    (tmp_path / "X.npy").write_bytes(b"garbage")
    np.save(tmp_path / "y.npy", np.zeros(3, int))
    with pytest.raises(DatasetError, match=r"X\.npy"):
        load_dataset(tmp_path)


def test_unknown_folder_layout(tmp_path):
    with pytest.raises(DatasetError, match=r"holds none of.*HAM10000.*MILK10k.*NumPy"):
        load_dataset(tmp_path)


def test_generated_layout_has_two_images_per_lesion(tmp_path):
    data = load_dataset(write_ham_layout(tmp_path / "x", per_class=2))
    assert len(set(data.groups)) == 7


@pytest.fixture(scope="module")
def milk_layout(tmp_path_factory):
    return write_milk_layout(tmp_path_factory.mktemp("milk"))


def test_milk10k_maps_diagnoses_and_keeps_both_photos_of_a_lesion(milk_layout):
    from trainer.info import CODE_TO_INDEX
    from trainer.milk10k import CLASS_MAP

    data = load_dataset(milk_layout)
    kept = [name for name, code in CLASS_MAP.items() if code is not None]
    assert len(data) == 2 * 3 * len(kept)  # INF, BEN_OTH and MAL_OTH left out
    assert sorted(set(data.meta["image_type"])) == ["clinical", "dermoscopic"]
    assert set(data.meta["diagnosis"]) == set(kept)
    for label, diagnosis in zip(data.labels, data.meta["diagnosis"]):
        assert label == CODE_TO_INDEX[CLASS_MAP[diagnosis]]
    assert data.class_counts()["akiec"] == 2 * 2 * 3  # AKIEC and SCCKA
    for group in set(data.groups):
        members = [t for g, t in zip(data.groups, data.meta["image_type"]) if g == group]
        assert sorted(members) == ["clinical", "dermoscopic"]


def test_milk10k_rejects_a_lesion_with_two_diagnoses(tmp_path, milk_layout):
    copy = shutil.copytree(milk_layout, tmp_path / "milk")
    path = copy / "MILK10k_Training_GroundTruth.csv"
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace("0.0", "1.0", 1)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match=r"line 2: expected exactly one diagnosis"):
        load_dataset(copy)


def test_several_sources_load_together_and_split_by_lesion_and_image_type(ham_layout, milk_layout):
    from trainer.datasets import load_datasets
    from trainer.splits import make_split

    data = load_datasets([ham_layout, milk_layout])
    assert len(data) == len(load_dataset(ham_layout)) + len(load_dataset(milk_layout))
    domains = data.domains()
    assert {"ham10000 dermoscopic", "milk10k clinical", "milk10k dermoscopic"} == set(domains)
    assert all(data.meta["skin_tone"][i] == "" for i, d in enumerate(domains) if d.startswith("ham10000"))
    split = make_split("grouped", data.labels, data.groups, seed=0)
    parts = [set(np.asarray(data.groups)[idx]) for idx in (split.train, split.validation, split.test)]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])


def test_clinical_repeats_oversample_only_the_clinical_close_ups(ham_layout, milk_layout):
    from trainer.datasets import load_datasets

    data = load_datasets([ham_layout, milk_layout])
    shown = data.with_repeats("clinical", 3)
    before, after = Counter(data.domains()), Counter(shown.domains())
    assert after["milk10k clinical"] == 3 * before["milk10k clinical"]
    assert after["ham10000 dermoscopic"] == before["ham10000 dermoscopic"]
    assert after["milk10k dermoscopic"] == before["milk10k dermoscopic"]
    clinical = [i for i, kind in enumerate(shown.meta["image_type"]) if kind == "clinical"]
    assert Counter(shown.image_ids[i] for i in clinical) == Counter(
        {image_id: 3 for image_id, kind in zip(data.image_ids, data.meta["image_type"]) if kind == "clinical"}
    )
    assert data.with_repeats("clinical", 1) is data
