"""Dataset loaders: both layouts, their validation errors, and the decoded-image cache."""

import csv
import shutil

import numpy as np
import pytest

from tests.image_factory import lesion_like, write_ham_layout, write_rgb
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
    with pytest.raises(DatasetError, match="neither"):
        load_dataset(tmp_path)


def test_generated_layout_has_two_images_per_lesion(tmp_path):
    data = load_dataset(write_ham_layout(tmp_path / "x", per_class=2))
    assert len(set(data.groups)) == 7
