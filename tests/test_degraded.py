"""The degraded-photo benchmark: each degradation does what it says, gets worse with severity, and the
benchmark judges the photos exactly as `trainer predict` does."""

from __future__ import annotations

import json
from itertools import pairwise

import numpy as np
import pytest

from benchmarks.degraded import DEGRADATIONS, exposure, farther, main, unchanged
from benchmarks.output import model_split
from tests.image_factory import lesion_like
from trainer.image_checks import image_statistics
from trainer.predict import ExportedModel
from trainer.preprocess import preprocess_array

PHOTO = lesion_like(150, 200, seed=3)


def statistic(rgb: np.ndarray, name: str) -> float:
    return float(image_statistics(preprocess_array(rgb)[None])[name][0])


@pytest.mark.parametrize("name", sorted(DEGRADATIONS))
def test_each_degradation_keeps_the_photo_size_and_departs_further_with_severity(name):
    function, severities, _ = DEGRADATIONS[name]
    distances = []
    for severity in severities:
        degraded = function(PHOTO, severity)
        assert degraded.shape == PHOTO.shape and degraded.dtype == np.uint8
        distances.append(np.abs(degraded.astype(float) - PHOTO).mean())
    assert 0 < distances[0] < distances[1] < distances[2], distances


@pytest.mark.parametrize(
    ("name", "statistic_name", "direction"),
    [
        ("out of focus", "sharpness", -1),
        ("camera shake", "sharpness", -1),
        ("too dark", "brightness", -1),
        ("too bright", "brightness", 1),
        ("noisy", "sharpness", 1),
    ],
)
def test_degradations_move_the_photo_statistic_they_stand_for(name, statistic_name, direction):
    function, severities, _ = DEGRADATIONS[name]
    values = [statistic(PHOTO, statistic_name)] + [statistic(function(PHOTO, s), statistic_name) for s in severities]
    assert all(direction * (b - a) > 0 for a, b in pairwise(values)), values


def test_exposure_is_in_stops_of_linear_light_and_farther_shrinks_the_middle():
    grey = np.full((150, 200, 3), 186, np.uint8)
    darker = exposure(grey, -1.0).astype(float)
    assert ((darker / 255) ** 2.2).mean() == pytest.approx(0.5 * (186 / 255) ** 2.2, rel=0.02)
    far = farther(PHOTO, 0.5)
    middle = far[37:112, 50:150]
    assert np.abs(middle.astype(float) - preprocess_array(PHOTO).astype(np.uint8)).mean() < 12
    assert np.array_equal(unchanged(PHOTO, 0.0), PHOTO)


def test_the_benchmark_judges_photos_as_trainer_predict_does(tiny_model, ham_layout, tmp_path):
    out = tmp_path / "degraded.json"
    assert (
        main(["--model", str(tiny_model), "--data", str(ham_layout), "--part", "validation", "--json", str(out)]) == 0
    )
    rows = json.loads(out.read_text())["validation"]
    assert [row["degradation"] for row in rows] == ["none"] + [n for n in DEGRADATIONS for _ in DEGRADATIONS[n][1]]
    for row in rows:
        s = row["all"]
        for share in ("not_judged", "cancers_reassured", "others_reassured", "unsure"):
            assert 0.0 <= s[share] <= 1.0
        assert s["not_judged"] <= s["failed_photo_checks"] + s["out_of_distribution"] + 1e-9
    blurred = [row["all"]["failed_photo_checks"] for row in rows if row["degradation"] == "out of focus"]
    assert rows[0]["all"]["failed_photo_checks"] <= blurred[-1] and blurred[-1] > 0

    model = ExportedModel(tiny_model)
    validation = model_split(model, [ham_layout]).validation
    files = [ham_layout / "HAM10000_images" / f"{image_id}.jpg" for image_id in validation.image_ids]
    tiers = [answer["tier"] for answer in model.assess_files(files).values()]
    assert rows[0]["all"]["photos"] == len(files)
    assert rows[0]["all"]["not_judged"] == pytest.approx(np.mean([t == "not-judged" for t in tiers]))
