"""The browser and Python agree: same 75x100 input pixels, same probabilities shown (the model's own, or for a
photo type with class offsets of its own, those adjusted), same top class, tier and photo type.

Headless Chromium (Playwright) runs the real page against a uvicorn server this module starts on a
free loopback port; the reference is `python -m trainer predict --json` on the same files.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from tests.browser_helpers import classify_file, last_input, predict_json
from tests.conftest import REAL_DATA, REAL_MILK, needs_real_data, needs_real_milk
from tests.image_factory import lesion_like, parity_image_set, write_rgb
from trainer.info import CLASS_CODES
from trainer.preprocess import preprocess_file

pytestmark = pytest.mark.browser

PIXEL_TOLERANCE = 1.0  # grey levels, max abs
PROBABILITY_TOLERANCE = 1e-3  # max abs


def assert_parity(page, model: Path, images: list[Path]) -> dict[str, float]:
    """Check every image; return the worst pixel and probability differences seen."""
    reference = predict_json(model, images)
    worst = {"pixel": 0.0, "probability": 0.0, "images": len(images)}
    for image in images:
        assert classify_file(page, image) is not None, f"the page refused {image.name}"
        browser_probabilities = page.evaluate("window.lesionApp.lastShownProbabilities")
        pixel_diff = float(np.abs(last_input(page) - preprocess_file(image)).max())
        python_probabilities = np.array([reference[str(image)]["probabilities"][code] for code in CLASS_CODES])
        probability_diff = float(np.abs(np.array(browser_probabilities) - python_probabilities).max())
        assert pixel_diff <= PIXEL_TOLERANCE, f"{image.name}: input pixels differ by {pixel_diff}"
        assert probability_diff <= PROBABILITY_TOLERANCE, f"{image.name}: probabilities differ by {probability_diff}"
        assert int(np.argmax(browser_probabilities)) == int(np.argmax(python_probabilities)), image.name
        said = page.evaluate("(a => [a?.tier ?? null, a?.photoType ?? null])(window.lesionApp.lastAssessment)")
        assert said == [reference[str(image)]["tier"], reference[str(image)]["photo_type"]], image.name
        rows = page.eval_on_selector_all(
            "#results [data-class][data-probability]", "rows => rows.map(r => [r.dataset.class, r.dataset.probability])"
        )
        shown = {code: float(p) for code, p in rows}
        assert set(shown) == set(CLASS_CODES)
        assert max(abs(shown[c] - browser_probabilities[i]) for i, c in enumerate(CLASS_CODES)) < 1e-6
        worst["pixel"] = max(worst["pixel"], pixel_diff)
        worst["probability"] = max(worst["probability"], probability_diff)
    return worst


def test_generated_images_match_python(page, app_model, tmp_path_factory):
    images = parity_image_set(tmp_path_factory.mktemp("parity"))
    worst = assert_parity(page, app_model, images)
    print(f"generated images: {worst}")


@needs_real_data
def test_real_ham10000_images_match_python(page, app_model):
    with (REAL_DATA / "HAM10000_metadata.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    chosen: list[Path] = []
    for code in CLASS_CODES:
        chosen += [REAL_DATA / "HAM10000_images" / f"{r['image_id']}.jpg" for r in rows if r["dx"] == code][:3]
    worst = assert_parity(page, app_model, chosen)
    print(f"real images: {worst}")


def test_non_image_shows_an_alert_and_the_page_keeps_working(page, tmp_path):
    bogus = tmp_path / "notes.jpg"
    bogus.write_text("this is a text file, not a photo")
    assert classify_file(page, bogus) is None
    alert = page.locator("[role=alert]")
    assert alert.is_visible() and len(alert.inner_text().strip()) > 10
    good = write_rgb(tmp_path / "good.jpg", lesion_like(150, 200))
    assert classify_file(page, good) is not None
    assert page.get_attribute("#results", "data-state") == "done"


@needs_real_milk
def test_real_milk10k_close_ups_and_dermoscopic_images_match_python(page, app_model):
    from trainer.datasets import read_labelled_files

    files = read_labelled_files(REAL_MILK)
    chosen = [
        next(f.path for f in files if f.label == label and f.meta.get("image_type") == kind)
        for label in range(len(CLASS_CODES))
        for kind in ("clinical", "dermoscopic")
        if any(f.label == label and f.meta.get("image_type") == kind for f in files)
    ]
    worst = assert_parity(page, app_model, chosen)
    print(f"real MILK10k images: {worst}")
