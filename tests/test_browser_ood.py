"""A model with the OOD output: the page's score equals `trainer predict --json`'s, and the JSON has its keys.

The models are the tiny test model that `trainer build` exports with its Mahalanobis output and the
committed model, served by the real web app to headless Chromium; `predict --json` is also checked on a
one-output model.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.browser_helpers import classify_file, predict_json
from tests.image_factory import non_lesion_images, parity_image_set, write_rgb
from trainer.info import CLASS_CODES

pytestmark = pytest.mark.browser

SCORE_RELATIVE_TOLERANCE = 1e-3
TIERS = {"urgent", "check", "routine", "not-judged"}


@pytest.fixture(scope="module", params=["tiny", "shipped"])
def served_model(request, tiny_model) -> Path:
    """The tiny model as `trainer build` exports it (its score over the penultimate features), then the
    committed EfficientNet-Lite0 (its score over block 8's averaged features): ``decision.ood`` set."""
    model = tiny_model if request.param == "tiny" else request.getfixturevalue("app_model")
    if request.param == "shipped" and model == tiny_model:
        pytest.skip("no committed model here: the tiny one is the served one")
    assert "ood" in json.loads((model / "manifest.json").read_text())["decision"]
    return model


@pytest.fixture(scope="module")
def one_output_model(tiny_model, tmp_path_factory) -> Path:
    """The tiny model folder without its OOD output, like every model exported before it."""
    from trainer.export import MANIFEST_FILE, file_inventory, load_tfjs, save_tfjs, write_json
    from trainer.keras_backend import keras

    model = load_tfjs(tiny_model)
    folder = tmp_path_factory.mktemp("models") / "tiny-one-output"
    shutil.copytree(tiny_model, folder)
    for path in [folder / "model.json", *folder.glob("group1-shard*")]:
        path.unlink()
    save_tfjs(keras.Model(model.inputs, model.outputs[0]), folder, "float16")
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    del manifest["decision"]["ood"]
    manifest["files"] = file_inventory(folder)
    write_json(folder / MANIFEST_FILE, manifest)
    return folder


def test_page_ood_score_equals_python(page, served_model, tmp_path):
    unusual = [write_rgb(tmp_path / f"{name}.png", image) for name, image in non_lesion_images(150, 200).items()]
    images = parity_image_set(tmp_path) + unusual
    reference = predict_json(served_model, images)
    threshold = json.loads((served_model / "manifest.json").read_text())["decision"]["ood"]["threshold"]
    scores = []
    for image in images:
        assert classify_file(page, image) is not None, f"the page refused {image.name}"
        probabilities = page.evaluate("window.lesionApp.lastShownProbabilities")
        browser_score = page.evaluate("window.lesionApp.lastOodScore")
        expected = reference[str(image)]
        assert browser_score == pytest.approx(expected["ood_score"], rel=SCORE_RELATIVE_TOLERANCE), image.name
        python_probabilities = [expected["probabilities"][code] for code in CLASS_CODES]
        assert np.abs(np.array(probabilities) - python_probabilities).max() <= 1e-3, image.name
        assert expected["out_of_distribution"] == (expected["ood_score"] > threshold)
        assert page.evaluate("window.lesionApp.lastAssessment.tier") == expected["tier"], image.name
        scores.append(browser_score)
    assert len(set(scores)) > len(images) // 2, "the score should vary from image to image"


@pytest.mark.parametrize("with_ood", [True, False], ids=["ood-output", "one-output"])
def test_predict_json_has_the_documented_keys(with_ood, tiny_model, one_output_model, tmp_path):
    model = tiny_model if with_ood else one_output_model
    images = [write_rgb(tmp_path / f"{name}.jpg", image) for name, image in non_lesion_images(150, 200).items()]
    result = predict_json(model, images)
    assert list(result) == [str(p) for p in images]
    for entry in result.values():
        assert set(entry) == {
            "probabilities",
            "ood_score",
            "out_of_distribution",
            "photo_type",
            "failed_photo_checks",
            "tier",
        }
        assert entry["photo_type"] is None  # the tiny model learnt from one photo type
        assert list(entry["probabilities"]) == list(CLASS_CODES)
        assert np.isclose(sum(entry["probabilities"].values()), 1, atol=1e-5)
        assert entry["tier"] in TIERS
        if with_ood:
            assert isinstance(entry["ood_score"], float) and isinstance(entry["out_of_distribution"], bool)
        else:
            assert entry["ood_score"] is None and entry["out_of_distribution"] is None
        judged = not entry["failed_photo_checks"] and not entry["out_of_distribution"]
        assert (entry["tier"] == "not-judged") == (not judged)
