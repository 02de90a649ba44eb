"""Occlusion sensitivity (trainer.explain) and `python -m trainer explain`."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from tests.conftest import REPO_ROOT
from tests.image_factory import lesion_like, write_rgb
from trainer.explain import CELL, MIN_DROP, PATCH, grid_shape, occlusion_map, occlusion_masks, overlay


def dark_pixel_classifier(batch: np.ndarray) -> np.ndarray:
    """A stand-in model: class 1's probability is the share of dark pixels in rows 30..44, columns 40..59."""
    dark = (batch[:, 30:45, 40:60].mean(axis=-1) < 100).mean(axis=(1, 2))
    return np.stack([1 - dark, dark], axis=1).astype(np.float32)


def image_with_dark_spot() -> np.ndarray:
    image = np.full((75, 100, 3), 200, np.float32)
    image[30:45, 40:60] = 20
    return image


def test_masks_cover_a_centred_square_per_cell_clipped_at_the_edges():
    masks = occlusion_masks()
    rows, cols = grid_shape()
    assert masks.shape == (rows * cols, 75, 100) == (15 * 20, 75, 100)
    centre = masks[7 * cols + 10]
    ys, xs = np.nonzero(centre)
    assert (ys.min(), ys.max() + 1, xs.min(), xs.max() + 1) == (
        35 - CELL,
        35 - CELL + PATCH,
        50 - CELL,
        50 - CELL + PATCH,
    )
    assert masks[0].sum() == (PATCH - CELL) ** 2  # the top-left square is clipped to 10x10


def test_map_lights_up_where_covering_lowers_the_class_probability():
    saliency = occlusion_map(dark_pixel_classifier, image_with_dark_spot())
    assert saliency.class_index == 1 and saliency.probability == pytest.approx(1.0)
    assert saliency.grid.shape == (15, 20)
    assert saliency.grid.max() == pytest.approx(1.0) and saliency.grid.min() >= 0
    hot = np.argwhere(saliency.grid > 0.5)
    assert hot[:, 0].min() >= 5 and hot[:, 0].max() <= 9  # cells whose square overlaps rows 30..44
    assert hot[:, 1].min() >= 7 and hot[:, 1].max() <= 12
    assert saliency.grid[0, 0] == 0 and saliency.grid[-1, -1] == 0


def test_map_of_another_class_and_faint_maps_stay_faint():
    image = image_with_dark_spot()
    other = occlusion_map(dark_pixel_classifier, image, class_index=0)
    assert other.class_index == 0 and other.grid.max() == 0  # covering the spot only raises class 0
    flat = occlusion_map(lambda batch: np.tile([[0.3, 0.7]], (len(batch), 1)).astype(np.float32), image)
    assert flat.largest_drop == 0 and flat.grid.max() == 0
    corner = lambda b: b[:, 0, 0, 0] / 2550 + 0.5  # noqa: E731  (covering the corner lowers it slightly)
    slight = occlusion_map(lambda b: np.stack([1 - corner(b), corner(b)], 1), image)
    assert 0 < slight.largest_drop < MIN_DROP and slight.grid.max() == pytest.approx(slight.largest_drop / MIN_DROP)


def test_models_with_a_second_output_use_the_first():
    from trainer.explain import first_output
    from trainer.keras_backend import keras

    inputs = keras.Input((75, 100, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(inputs)
    probabilities = keras.layers.Dense(7, activation="softmax", name="probabilities")(pooled)
    ood = keras.layers.Dense(1, name="ood_score")(pooled)
    model = keras.Model(inputs, [probabilities, ood])
    saliency = occlusion_map(first_output(model), lesion_like(75, 100, 3).astype(np.float32))
    assert saliency.grid.shape == (15, 20) and 0 <= saliency.class_index < 7


def test_bad_input_is_refused_with_a_clear_error():
    with pytest.raises(ValueError, match=r"expected one \(height, width, 3\) input"):
        occlusion_map(dark_pixel_classifier, np.zeros((1, 75, 100, 3)))
    with pytest.raises(ValueError, match="outside the model's 2 classes"):
        occlusion_map(dark_pixel_classifier, image_with_dark_spot(), class_index=5)
    with pytest.raises(ValueError, match="does not tile"):
        grid_shape(74, 100)


def test_overlay_keeps_the_photo_where_the_map_is_zero():
    image = image_with_dark_spot()
    grid = np.zeros((15, 20), np.float32)
    grid[7, 10] = 1
    picture = overlay(image, grid)
    assert picture.shape == (300, 400, 3) and picture.dtype == np.uint8
    assert np.array_equal(picture[:20, :20], np.full((20, 20, 3), 200, np.uint8))
    assert not np.array_equal(picture[140:150, 200:210], cv2.resize(image, (400, 300))[140:150, 200:210])


def test_cli_prints_the_map_as_json_and_writes_the_overlay(app_model, tmp_path):
    photo = write_rgb(tmp_path / "photo.jpg", lesion_like(300, 400, 4))
    out = tmp_path / "map.png"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "trainer",
            "explain",
            "--model",
            str(app_model),
            "--json",
            "--out",
            str(out),
            str(photo),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    explained = json.loads(result.stdout)
    manifest = json.loads((app_model / "manifest.json").read_text())
    assert explained["class"] in [c["code"] for c in manifest["classes"]]
    grid = np.array(explained["grid"])
    assert grid.shape == (15, 20) and grid.min() >= 0 and grid.max() <= 1
    assert (explained["cell"], explained["patch"]) == (CELL, PATCH)
    assert cv2.imread(str(out)).shape == (300, 400, 3)


def test_cli_refuses_a_folder_that_is_not_a_model(tmp_path):
    photo = write_rgb(tmp_path / "photo.jpg", lesion_like(150, 200, 4))
    result = subprocess.run(
        [sys.executable, "-m", "trainer", "explain", "--model", str(tmp_path), str(photo)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "manifest.json not found" in result.stderr
