"""The page's "where the model looked" map: drawn after the result, equal to `trainer explain`'s map.

Headless Chromium runs the real page (conftest's ``session``); the reference is trainer.explain on the
same file through the Python preprocessing, with the same exported model.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from tests.browser_helpers import classify_file, copy_judging_every_photo
from tests.conftest import REAL_DATA, needs_real_data
from tests.image_factory import lesion_like, write_exif_rotated_jpeg, write_gray_jpeg, write_rgb, write_rgba_png
from trainer.info import CLASS_CODES
from trainer.preprocess import preprocess_file

pytestmark = pytest.mark.browser

RELATIVE_TOLERANCE = 1e-3  # of the map's maximum, max abs
MAP_TIMEOUT_MS = 180_000


@pytest.fixture(scope="module")
def served_model(app_model, tmp_path_factory) -> Path:
    """The model without its OOD rule: the generated photos here must be judged to get a map."""
    return copy_judging_every_photo(app_model, tmp_path_factory.mktemp("served"))


@pytest.fixture(scope="module")
def reference(app_model):
    """The Python map of an image file: ``path -> (class code, grid)``."""
    from trainer.explain import first_output, occlusion_map
    from trainer.export import load_tfjs

    predict = first_output(load_tfjs(app_model))

    def explain(path: Path) -> tuple[str, np.ndarray]:
        saliency = occlusion_map(predict, preprocess_file(path))
        return CLASS_CODES[saliency.class_index], saliency.grid

    return explain


# Records every data-state change of #results and #saliency, in order, into window.stateChanges.
WATCH_STATES = """() => {
  window.stateChanges = [];
  new MutationObserver((records) => {
    for (const r of records) window.stateChanges.push(`${r.target.id}:${r.target.dataset.state}`);
  }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['data-state'] });
}"""


def browser_map(page, path: Path) -> tuple[str, np.ndarray]:
    """Classify a file in the page and wait for its map, which must come after the result is shown."""
    page.evaluate(WATCH_STATES)
    assert classify_file(page, path) is not None, f"the page refused {path.name}"
    page.wait_for_selector("#saliency[data-state=done]", state="attached", timeout=MAP_TIMEOUT_MS)
    changes = page.evaluate("window.stateChanges")
    assert changes.index("results:done") < changes.index("saliency:working") < changes.index("saliency:done"), changes
    return page.get_attribute("#saliency", "data-class"), np.array(
        json.loads(page.get_attribute("#saliency", "data-grid"))
    )


def assert_maps_match(page, reference, images: list[Path]) -> float:
    """Every image's browser map equals Python's; returns the worst difference relative to the map maximum."""
    worst = 0.0
    for image in images:
        code, grid = browser_map(page, image)
        python_code, python_grid = reference(image)
        assert code == python_code, f"{image.name}: the page explains {code}, Python {python_code}"
        assert grid.shape == python_grid.shape == (15, 20)
        assert grid.min() >= 0 and grid.max() <= 1
        difference = float(np.abs(grid - python_grid).max()) / max(float(python_grid.max()), 1e-12)
        assert difference <= RELATIVE_TOLERANCE, f"{image.name}: maps differ by {difference:.2e} of the maximum"
        worst = max(worst, difference)
    return worst


def test_generated_images_match_python(page, reference, tmp_path):
    images = [
        write_rgb(tmp_path / "lesion_150x200.png", lesion_like(150, 200, 1)),
        write_rgb(tmp_path / "lesion_450x600.jpg", lesion_like(450, 600, 2)),
        write_rgba_png(tmp_path / "rgba_120x160.png", 120, 160, 4),
        write_exif_rotated_jpeg(tmp_path / "exif_rotated.jpg", lesion_like(300, 400, 5)),
    ]
    print(f"generated images: worst map difference {assert_maps_match(page, reference, images):.2e} of the maximum")


@needs_real_data
def test_real_ham10000_images_match_python(page, reference):
    with (REAL_DATA / "HAM10000_metadata.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    images = [
        REAL_DATA / "HAM10000_images" / f"{next(r['image_id'] for r in rows if r['dx'] == code)}.jpg"
        for code in CLASS_CODES
    ]
    print(f"real images: worst map difference {assert_maps_match(page, reference, images):.2e} of the maximum")


def test_a_photo_the_model_does_not_judge_gets_no_map(page, tmp_path):
    assert classify_file(page, write_gray_jpeg(tmp_path / "gray.jpg", 240, 320, 3)) is not None
    assert page.evaluate("window.lesionApp.lastAssessment.judged") is False
    assert page.get_attribute("#saliency", "data-state") == "idle"
    assert page.is_hidden("#saliency") and page.is_hidden("#saliency-panel")


def test_overlay_has_a_toggle_a_legend_and_a_caveat(page, app_model, tmp_path):
    code, _ = browser_map(page, write_rgb(tmp_path / "lesion.jpg", lesion_like(300, 400, 9)))
    names = {c["code"]: c["name"] for c in json.loads((app_model / "manifest.json").read_text())["classes"]}
    assert page.is_visible("#saliency")
    legend = " ".join(page.inner_text("#saliency-panel").split())
    assert f"areas that pushed the model toward {names[code].lower()}" in legend
    assert "not a diagnosis" in legend
    page.uncheck("#saliency-toggle")
    assert page.is_hidden("#saliency")
    page.check("#saliency-toggle")
    assert page.is_visible("#saliency")


def test_a_new_frame_clears_the_map_and_tensors_do_not_leak(page, tmp_path):
    image = write_rgb(tmp_path / "lesion.jpg", lesion_like(300, 400, 11))
    browser_map(page, image)
    tensors = page.evaluate("tf.memory().numTensors")
    page.click("#frame-analyse")
    assert page.get_attribute("#saliency", "data-state") in {"idle", "working"}
    assert page.get_attribute("#saliency", "data-grid") is None
    page.wait_for_selector("#saliency[data-state=done]", state="attached", timeout=MAP_TIMEOUT_MS)
    assert page.evaluate("tf.memory().numTensors") == tensors
