"""The re-encoding benchmark: each encoding changes a photo only a little, and the benchmark compares the
page's answers on re-encoded photos with its answers on the photos as they are."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.degraded import DEGRADATIONS, jpeg
from benchmarks.output import model_split
from benchmarks.reencoding import ENCODINGS, main
from tests.image_factory import lesion_like
from trainer.predict import ExportedModel

PHOTO = lesion_like(150, 200, seed=5)


@pytest.mark.parametrize("name", [name for name, function in ENCODINGS.items() if function is not None])
def test_each_encoding_changes_the_photo_less_than_the_mildest_compression_of_the_degraded_benchmark(name):
    encoded = ENCODINGS[name](PHOTO)
    assert encoded.shape == PHOTO.shape and encoded.dtype == np.uint8
    difference = np.abs(encoded.astype(float) - PHOTO).mean()
    mildest = np.abs(jpeg(PHOTO, max(DEGRADATIONS["compressed"][1])).astype(float) - PHOTO).mean()
    assert 0 < difference < mildest, (difference, mildest)


def test_the_benchmark_compares_each_encoding_with_the_photos_as_they_are(tiny_model, ham_layout, tmp_path):
    out = tmp_path / "reencoding.json"
    assert main(["--model", str(tiny_model), "--data", str(ham_layout), "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["validation"]
    assert [row["encoding"] for row in rows] == list(ENCODINGS)
    reference = rows[0]["all"]
    assert reference["top_class_changed"] == 0 and reference["tier_changed"] == 0
    for row in rows:
        for share in ("top_class_changed", "tier_changed", "cancers_reassured"):
            assert 0.0 <= row["all"][share] <= 1.0

    model = ExportedModel(tiny_model)
    validation = model_split(model, [ham_layout]).validation
    files = [ham_layout / "HAM10000_images" / f"{image_id}.jpg" for image_id in validation.image_ids]
    answers = list(model.assess_files(files).values())
    cancers = [a["tier"] for a, label in zip(answers, validation.labels) if label in (0, 1, 4)]
    assert reference["photos"] == len(files)
    assert reference["cancers_reassured"] == pytest.approx(np.mean([tier == "routine" for tier in cancers]))
