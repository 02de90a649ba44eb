"""Photo checks: statistics of the 75x100 model input, thresholds from validation images, and how
often real lesion images and generated non-lesion images are flagged."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from tests.conftest import REAL_DATA, needs_real_data
from tests.image_factory import lesion_like, non_lesion_images
from trainer.image_checks import (
    CHECKED_SIDES,
    central_ellipse,
    flagged,
    flags,
    image_check_thresholds,
    image_statistics,
    kept_pixels,
)
from trainer.info import CODE_TO_INDEX
from trainer.preprocess import preprocess_array, preprocess_file
from trainer.splits import make_split

HAM_LIKE = {
    "bounds": {
        "brightness": {"min": 110.0},
        "colourfulness": {"min": 14.0},
        "skin_share": {"min": 0.08},
        "sharpness": {"min": 23.0, "max": 1900.0},
    }
}


def test_statistics_of_simple_images():
    flat = np.zeros((2, 75, 100, 3), np.uint8)
    flat[1] = (200, 100, 50)
    stats = image_statistics(flat)
    assert stats["brightness"] == pytest.approx([0, 0.299 * 200 + 0.587 * 100 + 0.114 * 50])
    assert stats["colourfulness"] == pytest.approx([0, 150])
    assert stats["skin_share"] == pytest.approx([0, 1])
    assert stats["sharpness"] == pytest.approx([0, 0])

    checkerboard = ((np.indices((75, 100)).sum(axis=0) % 2) * 255).astype(np.float32)
    grey = np.repeat(checkerboard[..., None], 3, axis=2)
    # Interior Laplacian is -4*255 on white squares and 4*255 on black ones: variance (4*255)^2.
    assert image_statistics(grey)["sharpness"][0] == pytest.approx((4 * 255) ** 2, rel=1e-3)
    one = image_statistics(lesion_like(75, 100))
    assert all(v.shape == (1,) for v in one.values())
    assert image_statistics(lesion_like(75, 100).astype(np.float32))["sharpness"] == pytest.approx(one["sharpness"])


def with_round_border(rgb: np.ndarray, radius: float, colour: int = 3) -> np.ndarray:
    """The image seen through a round dermatoscope: near-black outside a centred circle."""
    height, width = rgb.shape[:2]
    yy, xx = np.mgrid[0:height, 0:width]
    out = rgb.copy()
    out[(yy - height / 2) ** 2 + (xx - width / 2) ** 2 > radius**2] = colour
    return out


def test_a_dark_round_border_is_left_out_of_the_statistics():
    rgb = lesion_like(450, 600, 5)
    plain = image_statistics(preprocess_array(rgb))

    def mean_grey(x: np.ndarray) -> float:
        return float((x.astype(np.float64) @ [0.299, 0.587, 0.114]).mean())

    for radius in (290, 250, 160):  # corners only, a circle inside the frame, a small field of view
        bordered = preprocess_array(with_round_border(rgb, radius))
        stats = image_statistics(bordered)
        if radius > 280:  # the central ellipse lies inside the circle: the same pixels as without border
            assert stats["brightness"][0] == pytest.approx(plain["brightness"][0], rel=1e-6), radius
            assert stats["skin_share"][0] == pytest.approx(plain["skin_share"][0], rel=1e-6), radius
        darkened = mean_grey(preprocess_array(rgb)) - mean_grey(bordered)
        assert darkened > 10 and plain["brightness"][0] - stats["brightness"][0] < darkened / 3, radius
        assert not flagged(bordered, HAM_LIKE)[0], radius
    # A dark grey border is not a dermatoscope's black one: it counts.
    black, grey = (image_statistics(preprocess_array(with_round_border(rgb, 160, c)))["brightness"][0] for c in (3, 60))
    assert grey < black - 5


def test_a_dark_photo_keeps_its_pixels():
    dark = np.full((75, 100, 3), 20, np.uint8)
    dark[30:40, 45:55] = 200  # a small bright patch does not make it a dermatoscope image
    grey = dark[None, ..., 0].astype(np.float64)  # grey = R = G = B here
    assert (kept_pixels(grey)[0] == central_ellipse(75, 100)).all()
    assert flags(dark, HAM_LIKE)["brightness:min"][0]


def test_thresholds_are_percentiles_of_the_validation_images():
    images = np.stack([preprocess_array(lesion_like(150, 200, seed)) for seed in range(30)])
    thresholds = image_check_thresholds(images)
    assert thresholds["validation_images"] == 30 and "percentile" in thresholds["rule"]
    assert {name: set(bounds) for name, bounds in thresholds["bounds"].items()} == {
        name: set(sides) for name, sides in CHECKED_SIDES.items()
    }
    stats = image_statistics(images)
    assert thresholds["bounds"]["sharpness"]["min"] >= stats["sharpness"].min()
    assert thresholds["bounds"]["sharpness"]["max"] <= stats["sharpness"].max()
    # The 0.5th percentile of 30 values lies between the two smallest: each bound flags one image at most.
    assert all(bad.sum() <= 1 for bad in flags(images, thresholds).values())
    json.dumps(thresholds, allow_nan=False)
    assert image_check_thresholds(np.zeros((0, 75, 100, 3), np.uint8)) == {}
    assert not flagged(images, {}).any()


def test_every_kind_of_non_lesion_image_is_flagged_for_its_reason():
    expected = {
        "black": "brightness:min",
        "white": "colourfulness:min",
        "grey": "colourfulness:min",
        "flat_skin": "sharpness:min",
        "sky_blue": "skin_share:min",
        "noise": "sharpness:max",
        "blurred_lesion": "sharpness:min",
        "dark_lesion": "brightness:min",
        "grey_lesion": "colourfulness:min",
        "text": "skin_share:min",
    }
    images = non_lesion_images(300, 400)
    for kind, rgb in images.items():
        failed = [check for check, bad in flags(preprocess_array(rgb), HAM_LIKE).items() if bad[0]]
        assert failed, kind
        if kind in expected:
            assert expected[kind] in failed, (kind, failed)
    lesions = np.stack([preprocess_array(lesion_like(300, 400, seed)) for seed in range(10)])
    assert not flagged(lesions, HAM_LIKE).any()


def test_the_build_writes_image_checks_into_the_manifest(tiny_model):
    checks = json.loads((tiny_model / "manifest.json").read_text())["decision"]["image_checks"]
    assert set(checks["bounds"]) == set(CHECKED_SIDES) and checks["validation_images"] > 0


@needs_real_data
@pytest.mark.real_data
def test_flag_rates_on_real_ham10000_and_on_generated_non_lesion_images():
    """Thresholds from a grouped validation sample; the rate on held-out lesions stays low while
    every generated non-lesion image is flagged."""
    with (REAL_DATA / "HAM10000_metadata.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    labels = np.array([CODE_TO_INDEX[r["dx"]] for r in rows])
    split = make_split("grouped", labels, [r["lesion_id"] for r in rows], seed=0)
    rng = np.random.default_rng(0)

    def load(indices, count):
        chosen = rng.choice(indices, count, replace=False)
        return np.stack([preprocess_file(REAL_DATA / "HAM10000_images" / f"{rows[i]['image_id']}.jpg") for i in chosen])

    thresholds = image_check_thresholds(load(split.validation, 400))
    held_out = load(split.test, 400)
    lesion_rate = float(flagged(held_out, thresholds).mean())
    generated = [preprocess_array(rgb) for seed in range(3) for rgb in non_lesion_images(300, 400, seed).values()]
    other_rate = float(flagged(np.stack(generated), thresholds).mean())
    per_check = {check: float(bad.mean()) for check, bad in flags(held_out, thresholds).items()}
    print(f"flagged: HAM10000 held-out {lesion_rate:.1%} {per_check}; generated non-lesion {other_rate:.1%}")
    assert lesion_rate <= 0.06 and other_rate == 1.0


@needs_real_data
@pytest.mark.real_data
def test_held_out_dermatoscope_images_with_a_dark_round_border_are_not_called_dark():
    """Test-split HAM10000 images whose four corners are near-black (the round field of view of a
    dermatoscope), judged with bounds fitted on the validation split."""
    with (REAL_DATA / "HAM10000_metadata.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    labels = np.array([CODE_TO_INDEX[r["dx"]] for r in rows])
    split = make_split("grouped", labels, [r["lesion_id"] for r in rows], seed=0)

    def load(indices):
        return np.stack(
            [preprocess_file(REAL_DATA / "HAM10000_images" / f"{rows[i]['image_id']}.jpg") for i in indices]
        )

    thresholds = image_check_thresholds(load(split.validation))
    held_out = load(split.test).astype(np.float64)
    grey = held_out @ [0.299, 0.587, 0.114]
    corners = [grey[:, :4, :4], grey[:, :4, -4:], grey[:, -4:, :4], grey[:, -4:, -4:]]
    bordered = np.all([c.mean(axis=(1, 2)) < 40 for c in corners], axis=0)
    dark = flags(held_out[bordered], thresholds)["brightness:min"]
    print(f"{bordered.sum()} held-out images with a dark round border; called very dark: {dark.mean():.1%}")
    assert bordered.sum() >= 20 and dark.mean() <= 0.02
