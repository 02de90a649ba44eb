"""The result a patient sees: every class with its calibrated percentage and plain-language
explanation, an honest "unsure", guidance by risk (never an all-clear), the disclaimer, warnings
about photos unlike the training images, and the lesion-types page, all from the manifest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.browser_helpers import EditableSite, classify_file, copy_judging_every_photo, last_input
from tests.image_factory import lesion_like, non_lesion_images, write_rgb
from trainer.image_checks import image_statistics
from trainer.preprocess import preprocess_file

pytestmark = pytest.mark.browser

# Bounds of the order trainer.image_checks derives from HAM10000 validation images; fixed here so
# that the warnings do not depend on which model (tiny or shipped) the tests run against.
HAM_LIKE_BOUNDS = {
    "brightness": {"min": 110.0},
    "colourfulness": {"min": 14.0},
    "skin_share": {"min": 0.08},
    "sharpness": {"min": 23.0, "max": 1900.0},
}


@pytest.fixture(scope="module")
def served_model(app_model, tmp_path_factory) -> Path:
    return copy_judging_every_photo(app_model, tmp_path_factory.mktemp("served"))


@pytest.fixture(scope="module")
def site(session, served_model):
    base_url, browser = session
    page = browser.new_context(service_workers="block").new_page()
    site = EditableSite(page, base_url, served_model)
    site.use_manifest()
    return site


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    return write_rgb(tmp_path_factory.mktemp("photos") / "spot.jpg", lesion_like(450, 600, 31))


def rows(page) -> list[dict]:
    return page.eval_on_selector_all(
        "#results [data-class][data-probability]",
        "rows => rows.map(r => ({code: r.dataset.class, p: Number(r.dataset.probability), text: r.innerText,"
        " href: r.querySelector('a').getAttribute('href')}))",
    )


def test_all_seven_classes_sorted_with_name_summary_and_label(site, photo):
    manifest = site.use_manifest()
    assert classify_file(site.page, photo) is not None
    probabilities = site.page.evaluate("window.lesionApp.lastShownProbabilities")
    shown = rows(site.page)
    assert len(shown) == 7 == len(manifest["classes"])
    assert [r["p"] for r in shown] == sorted((r["p"] for r in shown), reverse=True)
    assert sorted(r["p"] for r in shown) == pytest.approx(sorted(probabilities), abs=1e-7)
    by_code = {c["code"]: c for c in manifest["classes"]}
    for row in shown:
        lesion = by_code[row["code"]]
        assert lesion["name"] in row["text"] and lesion["summary"] in row["text"]
        assert ("skin cancer" if lesion["malignant"] else "benign") in row["text"]
        assert f"{row['p'] * 100:.1f}%" in row["text"] or "<0.1%" in row["text"]
        assert row["href"] == f"/classes#{row['code']}"
    results = site.page.inner_text("#results")
    assert "not a diagnosis" in results and "dermatoscope" in results


def test_unsure_below_the_threshold_names_no_winner(site, photo):
    site.use_manifest(lambda m: m["decision"].update(uncertain_below=1.01))
    probabilities = classify_file(site.page, photo)
    verdict = site.page.inner_text("#verdict")
    assert "unsure" in verdict
    assert not any(c["name"] in verdict for c in site.original["classes"])
    assert site.page.get_attribute("#results", "data-uncertain") == "true"

    site.use_manifest(lambda m: m["decision"].update(uncertain_below=0.0))
    classify_file(site.page, photo)
    top = site.original["classes"][int(np.argmax(probabilities))]["name"]
    assert top in site.page.inner_text("#verdict") and "unsure" not in site.page.inner_text("#verdict")
    assert site.page.get_attribute("#results", "data-uncertain") == "false"


@pytest.mark.parametrize(("threshold", "urgent"), [(0.0, True), (1.01, False)])
def test_guidance_by_risk_and_never_an_all_clear(site, photo, threshold, urgent):
    # Without tiers the page has two levels, urgent or not, from urgent_probability.
    site.use_manifest(
        lambda m: (
            m["decision"].pop("tiers", None),
            m["decision"].pop("tiers_by_photo_type", None),
            m["decision"].update(urgent_probability=threshold),
        )
    )
    classify_file(site.page, photo)
    guidance = site.page.inner_text("#guidance")
    assert site.page.get_attribute("#results", "data-urgent") == str(urgent).lower()
    if urgent:
        assert "dermatologist promptly" in guidance
        assert all(name in guidance.lower() for name in ("melanoma", "basal cell carcinoma", "actinic keratosis"))
    else:
        assert "cannot rule out skin cancer" in guidance and "see a doctor" in guidance.lower()
    text = site.page.inner_text("#results").lower()
    assert "all clear" not in text and "nothing to worry" not in text


def test_a_manifest_without_decision_rules_still_shows_a_result(site, photo):
    site.use_manifest(lambda m: m.pop("decision"))
    classify_file(site.page, photo)
    assert len(rows(site.page)) == 7 and site.page.get_attribute("#results", "data-urgent") is None
    assert "cannot rule out skin cancer" in site.page.inner_text("#guidance")


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("black", "very dark"),
        ("dark_lesion", "very dark"),
        ("sky_blue", "skin-coloured"),
        ("grey_lesion", "no colour"),
        ("blurred_lesion", "blurry"),
        ("noise", "grainy"),
        ("text", "no colour"),
    ],
)
def test_photos_unlike_lesion_images_are_flagged_with_the_reason(site, tmp_path, kind, reason):
    site.use_manifest(lambda m: m["decision"].update(image_checks={"bounds": HAM_LIKE_BOUNDS}))
    path = write_rgb(tmp_path / f"{kind}.png", non_lesion_images(300, 400)[kind])
    assert classify_file(site.page, path) is not None
    alert = site.page.inner_text("#alert")
    assert "does not look like" in alert and reason in alert, alert
    assert int(site.page.get_attribute("#results", "data-photo-warnings")) >= 1


def test_without_image_checks_in_the_manifest_no_photo_warnings(site, tmp_path):
    site.use_manifest(lambda m: m["decision"].pop("image_checks", None))
    classify_file(site.page, write_rgb(tmp_path / "black.png", non_lesion_images(300, 400)["black"]))
    assert site.page.get_attribute("#results", "data-state") == "done"
    assert site.page.is_hidden("#alert") and site.page.get_attribute("#results", "data-photo-warnings") == "0"


def test_browser_image_statistics_equal_python(site, tmp_path):
    site.use_manifest()
    bordered = lesion_like(450, 600, 4)
    yy, xx = np.mgrid[0:450, 0:600]
    bordered[(yy - 225) ** 2 + (xx - 300) ** 2 > 250**2] = (2, 2, 2)  # a dermatoscope's dark round border
    images = {"lesion": lesion_like(450, 600, 3), "bordered": bordered, **non_lesion_images(150, 200, 1)}
    for name, rgb in images.items():
        path = write_rgb(tmp_path / f"{name}.png", rgb)
        classify_file(site.page, path)
        browser = site.page.evaluate("window.lesionApp.lastStatistics")
        python = {k: float(v[0]) for k, v in image_statistics(preprocess_file(path)).items()}
        same_input = {k: float(v[0]) for k, v in image_statistics(last_input(site.page)).items()}
        assert browser == pytest.approx(same_input, rel=1e-9, abs=1e-9), name
        assert browser == pytest.approx(python, rel=1e-4, abs=1e-4), name


def test_lesion_types_page_describes_every_class(site):
    site.use_manifest()
    site.page.goto(f"{site.base_url}/classes")
    for lesion in site.original["classes"]:
        entry = site.page.inner_text(f"#{lesion['code']}")
        for field in ("name", "summary", "look", "advice"):
            assert lesion[field] in entry, (lesion["code"], field)
        assert ("skin cancer" if lesion["malignant"] else "benign") in entry
