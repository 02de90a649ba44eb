"""Honest results: advice tiers chosen on validation, no verdict on photos the model cannot judge,
camera photos without false notes, photo checks that know dermatoscope borders, and a result that
a phone brings into view."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.browser_helpers import (
    EditableSite,
    classify_file,
    editable_copy,
    last_input,
    open_classifier,
    paste_file,
    wait_for_result,
)
from tests.conftest import REAL_DATA, needs_real_data
from tests.image_factory import lesion_like, write_rgb
from tests.test_decision import CANCER, REFERRAL, photo_type_validation, synthetic_validation, tier_cases
from tests.test_photo_type_offsets import OFFSETS_BY_CODE
from trainer.decision import (
    NOT_JUDGED,
    choose_thresholds,
    referral_probabilities,
    shown_probabilities,
    tier_for,
    tiers_by_photo_type,
)
from trainer.image_checks import flags
from trainer.photo_type import photo_types
from trainer.predict import ExportedModel
from trainer.preprocess import preprocess_array, preprocess_file
from trainer.test_time_augmentation import VIEWS

pytestmark = pytest.mark.browser

FAKE_CAMERA = ("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream")
PHONE = {"width": 390, "height": 844}
# Words that would reassure or name a type; none may appear for a photo that cannot be judged.
REASSURING = ("harmless", "nothing in this photo points", "no strong sign", "benign")


@pytest.fixture(scope="module")
def chromium_args() -> tuple[str, ...]:
    return FAKE_CAMERA


@pytest.fixture(scope="module")
def served_model(app_model, tmp_path_factory) -> Path:
    return editable_copy(app_model, tmp_path_factory.mktemp("served"))


class Site(EditableSite):
    """Pages served from an editable copy of the model folder, and fresh pages (phone, camera)."""

    def __init__(self, base_url: str, browser, model_dir: Path) -> None:
        self.browser = browser
        super().__init__(self.new_page(base_url), base_url, model_dir)

    def new_page(self, base_url: str | None = None, **context):
        page = self.browser.new_context(service_workers="block", permissions=["camera"], **context).new_page()
        open_classifier(page, base_url or self.base_url)
        return page


@pytest.fixture(scope="module")
def site(session, served_model):
    base_url, browser = session
    return Site(base_url, browser, served_model)


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    return write_rgb(tmp_path_factory.mktemp("photos") / "spot.jpg", lesion_like(450, 600, 41))


def with_tiers(decision: dict, urgent: float, check: float, uncertain_below: float = 0.0) -> None:
    """Advice tiers with the given thresholds for every photo, unsure below ``uncertain_below`` (default: never),
    and no out-of-distribution rule (tested by decision.js cases)."""
    decision.pop("ood", None)
    decision.update(uncertain_below=uncertain_below, unsure_tier="check")
    decision.pop("tiers_by_photo_type", None)
    decision["tiers"] = [
        {"name": "urgent", "min_probability": urgent, "validation": {"sensitivity": 0.9, "specificity": 0.7}},
        {"name": "check", "min_probability": check, "validation": {"sensitivity": 0.97, "specificity": 0.4}},
        {"name": "routine", "min_probability": 0.0},
    ]


def cancer_share(site, probabilities: list[float]) -> float:
    codes = set(site.original["decision"]["urgent_classes"])
    return sum(p for c, p in zip(site.original["classes"], probabilities, strict=True) if c["code"] in codes)


def verdict_text(page) -> str:
    return " ".join(page.inner_text(s) for s in ("#verdict", "#verdict-detail", "#guidance"))


def screenshot_like(height: int = 600, width: int = 800) -> np.ndarray:
    """A screenshot of a web page: grey page, dark header bar, a blue button and lines of text."""
    image = np.full((height, width, 3), 246, np.uint8)
    image[: height // 10] = (29, 36, 51)
    cv2.rectangle(image, (40, height // 2), (260, height // 2 + 50), (36, 87, 197), -1)
    for line in range(6):
        y = height // 5 + 30 * line
        cv2.putText(image, "Check a photo of a skin spot", (40, y), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (30, 30, 30), 2)
    return image


def green_test_pattern(height: int = 480, width: int = 640) -> np.ndarray:
    """A camera test card: green with a few colour bars."""
    image = np.full((height, width, 3), (40, 170, 60), np.uint8)
    for i, colour in enumerate([(255, 255, 255), (255, 255, 0), (0, 255, 255), (255, 0, 255)]):
        image[height // 3 : height // 3 + 40, 80 + 120 * i : 160 + 120 * i] = colour
    return image


def test_a_photo_unusual_by_its_ood_score_alone_is_not_judged(site, photo):
    """The page applies the manifest's OOD threshold to the model's score, as `trainer predict` does."""
    manifest = site.use_manifest()
    if "ood" not in manifest.get("decision", {}):
        pytest.skip("the served model has no out-of-distribution output")
    page = site.page
    assert classify_file(page, photo) is not None
    score = page.evaluate("window.lesionApp.lastOodScore")
    assert page.evaluate("window.lesionApp.lastWarnings.length") == 0
    for threshold, tier_judged in ((score + abs(score) * 0.01, True), (score - abs(score) * 0.01, False)):
        site.use_manifest(lambda m, limit=threshold: m["decision"]["ood"].update(threshold=limit))
        assert classify_file(page, photo) is not None
        assert (page.get_attribute("#results", "data-tier") != NOT_JUDGED) == tier_judged, threshold
    said = verdict_text(page)
    assert "cannot be judged" in page.inner_text("#verdict") and "too unlike" in said
    assert not any(c["name"].lower() in said.lower() for c in manifest["classes"]), said
    assert not any(word in said.lower() for word in REASSURING), said


def test_the_page_says_which_kind_of_photo_the_model_thinks_it_got(site, photo):
    """The generated photo is judged here (no OOD rule); the rule's limit moved to either side of its output."""
    if "photo_type" not in site.original["decision"]:
        pytest.skip("the served model has no photo-type output")
    page = site.page
    rule = site.original["decision"]["photo_type"]
    for clinical_from, kind, words in ((0.0, "clinical", "ordinary close-up"), (1.01, "dermoscopic", "dermatoscope")):

        def change(m, limit=clinical_from):
            m["decision"].pop("ood", None)
            m["decision"]["photo_type"].update(clinical_from=limit)

        site.use_manifest(change)
        assert classify_file(page, photo) is not None
        assert page.get_attribute("#results", "data-photo-type") == kind
        assert page.is_visible("#photo-type") and words in page.inner_text("#photo-type")
    assert rule["types"] == ["dermoscopic", "clinical"]

    # A photo the model cannot judge gets no photo-type sentence.
    site.use_manifest(lambda m: m["decision"].get("ood", {}).update(threshold=-1e9))
    assert classify_file(page, photo) is not None
    assert page.get_attribute("#results", "data-tier") == NOT_JUDGED and page.is_hidden("#photo-type")


@pytest.mark.parametrize("make", [screenshot_like, green_test_pattern], ids=["screenshot", "green pattern"])
def test_a_photo_failing_the_photo_checks_is_not_judged_and_names_no_class(site, tmp_path, make):
    manifest = site.use_manifest()
    path = write_rgb(tmp_path / "not-skin.png", make())
    assert any(bad[0] for bad in flags(preprocess_file(path), manifest["decision"]["image_checks"]).values())
    page = site.page
    assert classify_file(page, path) is not None
    assert page.get_attribute("#results", "data-tier") == NOT_JUDGED
    said = verdict_text(page)
    assert "cannot be judged" in page.inner_text("#verdict") and "daylight" in said
    assert not any(c["name"].lower() in said.lower() for c in manifest["classes"]), said
    assert not any(word in said.lower() for word in REASSURING), said
    assert "does not look like" in page.inner_text("#alert")
    assert not any(c["name"] in page.inner_text("#announcer") for c in manifest["classes"])

    # The bars wait behind a real, keyboard-operable button.
    button = page.locator("#show-output")
    assert page.is_hidden("#model-output") and button.is_visible()
    assert button.evaluate("b => b.tagName") == "BUTTON" and button.get_attribute("aria-expanded") == "false"
    button.focus()
    page.keyboard.press("Enter")
    assert page.is_visible("#model-output") and button.get_attribute("aria-expanded") == "true"
    assert page.locator("#results [data-class]").first.is_visible() and page.is_visible("#output-caveat")
    page.keyboard.press("Space")
    assert page.is_hidden("#model-output")


def test_assess_treats_an_out_of_distribution_photo_like_a_failed_photo_check(site):
    site.use_manifest()
    tiers = site.page.evaluate(
        """async ([decision, classes]) => {
            const { assess } = await import('/static/js/decision.js');
            const p = classes.map(() => 1 / classes.length);
            return [
                assess(classes, p, decision).tier,
                assess(classes, p, decision, { outOfDistribution: true }).tier,
                assess(classes, p, decision, { photoChecksFailed: true }).tier,
            ];
        }""",
        [site.original["decision"], site.original["classes"]],
    )
    assert tiers[0] != NOT_JUDGED and tiers[1:] == [NOT_JUDGED, NOT_JUDGED]


@pytest.mark.parametrize("referral", ["served", "offsets undone"])
def test_decision_js_gives_the_tier_that_trainer_decision_gives(site, referral):
    """Synthetic probabilities on both sides of each threshold, with the served manifest's decision
    block (its own tiers when it has them, else tiers chosen on synthetic validation data), as served and with
    a referral rule that scores the probabilities before class offsets."""
    decision = dict(site.original["decision"])
    decision.pop("test_time_augmentation", None)  # one view: the views have a test of their own
    decision.setdefault("tiers", choose_thresholds(*synthetic_validation())["tiers"])
    decision.setdefault("unsure_tier", "check")
    if referral == "offsets undone":
        decision["referral"] = REFERRAL
    cases = tier_cases(decision)
    routine_below = min(t["min_probability"] for t in decision["tiers"] if t["min_probability"] > 0)
    raised = [
        expected
        for p, judged, expected in cases
        if judged
        and referral_probabilities(np.array(p), decision)[CANCER].sum() < routine_below
        and max(p) < decision["uncertain_below"]
    ]
    assert raised and set(raised) == {"check"}
    tiers = site.page.evaluate(
        """async ([decision, classes, cases]) => {
            const { assess } = await import('/static/js/decision.js');
            return cases.map(([p, judged]) => assess(classes, p, decision, { photoChecksFailed: !judged }).tier);
        }""",
        [decision, site.original["classes"], cases],
    )
    assert tiers == [expected for _, _, expected in cases]
    assert tiers == [tier_for(np.array(p), decision, judged) for p, judged, _ in cases]
    assert "check" in tiers


def test_decision_js_applies_each_photo_types_tiers_as_trainer_decision_does(site):
    """The photo type from the `photo_type` output (either side of `clinical_from`) picks the tiers, on both
    sides; the served manifest's per-type tiers when it has them, else ones chosen on synthetic validation."""
    decision = dict(site.original["decision"])
    decision.pop("test_time_augmentation", None)  # one view: the views have a test of their own
    if "tiers_by_photo_type" not in decision:
        labels, probabilities, routed = photo_type_validation()
        decision["tiers_by_photo_type"] = tiers_by_photo_type(labels, probabilities, routed, {})
        decision["photo_type"] = {"output": "photo_type", "clinical_from": 0.5, "types": ["dermoscopic", "clinical"]}
    rule = decision["photo_type"]
    cases = []
    for kind, clinical_probability in (
        ("clinical", rule["clinical_from"]),
        ("dermoscopic", rule["clinical_from"] - 1e-3),
    ):
        cases += [
            (p, judged, clinical_probability, kind, expected)
            for p, judged, expected in tier_cases(decision, decision["tiers_by_photo_type"][kind])
        ]
    said = site.page.evaluate(
        """async ([decision, classes, cases]) => {
            const { assess } = await import('/static/js/decision.js');
            return cases.map(([p, judged, clinicalProbability]) => {
              const a = assess(classes, p, decision, { photoChecksFailed: !judged, clinicalProbability });
              return [a.tier, a.photoType];
            });
        }""",
        [decision, site.original["classes"], [case[:3] for case in cases]],
    )
    assert said == [[expected, kind] for *_, kind, expected in cases]
    assert [tier for tier, _ in said] == [
        tier_for(np.array(p), decision, judged, kind) for p, judged, _, kind, _ in cases
    ]


def test_decision_js_shows_the_probabilities_that_trainer_decision_shows(site):
    """A photo of a type with class offsets of its own: the probabilities before the shared offsets, adjusted by
    the type's offsets and temperature; a photo of the other type: the model's own; the tier the same either way."""
    decision = dict(site.original["decision"])
    decision.pop("test_time_augmentation", None)  # one view: the views have a test of their own
    decision.setdefault("tiers", choose_thresholds(*synthetic_validation())["tiers"])
    decision["referral"] = REFERRAL
    decision["photo_type"] = {"output": "photo_type", "clinical_from": 0.5, "types": ["dermoscopic", "clinical"]}
    decision["offsets_by_photo_type"] = {"clinical": {"class_offsets": OFFSETS_BY_CODE, "temperature": 0.8}}
    _, probabilities = synthetic_validation(count=12, seed=5)
    cases = [(p.tolist(), 0.9 if i % 2 else 0.1) for i, p in enumerate(probabilities.astype(np.float64))]
    said = site.page.evaluate(
        """async ([decision, classes, cases]) => {
            const { assess } = await import('/static/js/decision.js');
            const without = { ...decision, offsets_by_photo_type: undefined };
            return cases.map(([p, clinicalProbability]) => {
              const a = assess(classes, p, decision, { clinicalProbability });
              const b = assess(classes, p, without, { clinicalProbability });
              return [a.probabilities, a.photoType, a.tier, b.tier, b.probabilities];
            });
        }""",
        [decision, site.original["classes"], cases],
    )
    kinds = [kind for _, kind, *_ in said]
    assert kinds == ["dermoscopic", "clinical"] * 6
    expected = shown_probabilities(np.array([p for p, _ in cases]), decision, kinds)
    assert np.array([shown for shown, *_ in said]) == pytest.approx(expected, abs=1e-9)
    assert [b_shown for *_, b_shown in said] == [p for p, _ in cases]
    assert [tier for _, _, tier, _, _ in said] == [b_tier for *_, b_tier, _ in said]
    assert [tier for _, _, tier, _, _ in said] == [
        tier_for(np.array(p), decision, True, kind) for (p, _), kind in zip(cases, kinds, strict=True)
    ]
    clinical = np.array(kinds) == "clinical"
    assert (expected.argmax(axis=1) != probabilities.argmax(axis=1))[clinical].any()


def test_the_page_lists_the_probabilities_shown_for_its_photo_type(site, photo):
    """The result list holds the model's own probabilities (top one first) without offsets for the photo's type,
    and the shown ones of a photo routed to a type with offsets of its own."""
    if "photo_type" not in site.original["decision"]:
        pytest.skip("the served model has no photo-type output")
    page = site.page
    codes = [c["code"] for c in site.original["classes"]]
    one_view = ("ood", "test_time_augmentation")
    site.use_manifest(lambda m: [m["decision"].pop(rule, None) for rule in one_view])
    assert classify_file(page, photo) is not None
    model = np.array(page.evaluate("window.lesionApp.lastProbabilities"))
    assert page.eval_on_selector_all("#result-list li", "rows => rows[0].dataset.class") == codes[int(model.argmax())]
    least = codes[int(model.argmin())]

    def clinical_with_offsets(m):
        for rule in one_view:
            m["decision"].pop(rule, None)
        m["decision"]["photo_type"].update(clinical_from=0.0)
        offsets = dict.fromkeys(codes, 0.0) | {least: 12.0}
        m["decision"]["offsets_by_photo_type"] = {"clinical": {"class_offsets": offsets, "temperature": 1.0}}

    served = site.use_manifest(clinical_with_offsets)["decision"]
    assert classify_file(page, photo) is not None
    assert page.evaluate("window.lesionApp.lastProbabilities") == pytest.approx(model.tolist(), abs=1e-6)
    expected = shown_probabilities(model[None], served, ["clinical"])[0]
    listed = page.eval_on_selector_all(
        "#result-list li", "rows => rows.map(r => [r.dataset.class, Number(r.dataset.probability)])"
    )
    assert listed[0][0] == least
    assert {code: p for code, p in listed} == pytest.approx(dict(zip(codes, expected, strict=True)), abs=1e-6)
    assert page.evaluate("window.lesionApp.lastShownProbabilities") == pytest.approx(expected.tolist(), abs=1e-6)


def test_decision_js_averages_the_views_that_trainer_decision_averages(site):
    """A photo of a type with test-time augmentation shows the mean over its views of each view's shown
    probabilities (here with class offsets of its own too), a photo of the other type its own; without the other
    views the page refuses rather than show one view's; the tier is the photo's own either way."""
    decision = dict(site.original["decision"])
    decision.setdefault("tiers", choose_thresholds(*synthetic_validation())["tiers"])
    decision["referral"] = REFERRAL
    decision["photo_type"] = {"output": "photo_type", "clinical_from": 0.5, "types": ["dermoscopic", "clinical"]}
    decision["offsets_by_photo_type"] = {"clinical": {"class_offsets": OFFSETS_BY_CODE, "temperature": 0.8}}
    decision["test_time_augmentation"] = {"views": list(VIEWS), "photo_types": {"clinical": {}}}
    _, photos = synthetic_validation(count=8, seed=6)
    _, mirrored = synthetic_validation(count=8, seed=7)
    cases = [(p.tolist(), [m.tolist()], 0.9 if i % 2 else 0.1) for i, (p, m) in enumerate(zip(photos, mirrored))]
    said = site.page.evaluate(
        """async ([decision, classes, cases]) => {
            const { assess } = await import('/static/js/decision.js');
            const without = { ...decision, test_time_augmentation: undefined };
            const shown = cases.map(([p, otherViews, clinicalProbability]) => {
              const a = assess(classes, p, decision, { clinicalProbability, otherViews });
              return [a.probabilities, a.photoType, a.tier, assess(classes, p, without, { clinicalProbability }).tier];
            });
            let refusal = null;
            try { assess(classes, cases[1][0], decision, { clinicalProbability: 0.9 }); }
            catch (error) { refusal = error.message; }
            return { shown, refusal };
        }""",
        [decision, site.original["classes"], cases],
    )
    kinds = [kind for _, kind, *_ in said["shown"]]
    assert kinds == ["dermoscopic", "clinical"] * 4
    expected = shown_probabilities(
        np.array([p for p, *_ in cases]), decision, kinds, [np.array([m[0] for _, m, _ in cases])]
    )
    assert np.array([shown for shown, *_ in said["shown"]]) == pytest.approx(expected, abs=1e-9)
    assert [tier for _, _, tier, _ in said["shown"]] == [without for *_, without in said["shown"]]
    assert "averages 2 views of clinical photos" in said["refusal"]


def test_the_page_classifies_the_mirror_image_only_for_a_type_that_averages_the_views(site, photo):
    """With test-time augmentation for the photo's type, the page runs the model on the photo and on its mirror
    image as Python does, and lists the mean of their probabilities; for a photo of another type, on the photo
    alone."""
    if "photo_type" not in site.original["decision"]:
        pytest.skip("the served model has no photo-type output")
    page = site.page

    def views_for_every_type(m):
        m["decision"].pop("ood", None)
        m["decision"].pop("offsets_by_photo_type", None)
        m["decision"]["test_time_augmentation"] = {
            "views": list(VIEWS),
            "photo_types": {"clinical": {}, "dermoscopic": {}},
        }

    site.use_manifest(views_for_every_type)
    assert classify_file(page, photo) is not None
    inputs = last_input(page)[None]
    model = ExportedModel(site.model_dir)
    expected_views = [model.predict_arrays(inputs)[0], model.predict_arrays(inputs[:, :, ::-1])[0]]
    assert page.evaluate("window.lesionApp.lastProbabilities") == pytest.approx(expected_views[0].tolist(), abs=1e-4)
    assert page.evaluate("window.lesionApp.lastOtherViews") == [pytest.approx(expected_views[1].tolist(), abs=1e-4)]
    shown = page.evaluate("window.lesionApp.lastShownProbabilities")
    assert shown == pytest.approx(np.mean(expected_views, axis=0).tolist(), abs=1e-4)
    listed = page.eval_on_selector_all("#result-list li", "rows => rows.map(r => Number(r.dataset.probability))")
    assert sorted(listed, reverse=True) == pytest.approx(sorted(shown, reverse=True), abs=1e-6)

    # Views kept only for the other photo type: the model runs on the photo alone, which shows its own.
    routed = str(photo_types(np.array([page.evaluate("window.lesionApp.lastClinicalProbability")]))[0])
    other_type = ({"clinical", "dermoscopic"} - {routed}).pop()

    def views_for_the_other_type(m):
        views_for_every_type(m)
        m["decision"]["test_time_augmentation"]["photo_types"] = {other_type: {}}

    site.use_manifest(views_for_the_other_type)
    assert classify_file(page, photo) is not None
    assert page.evaluate("window.lesionApp.lastOtherViews") == []
    own = page.evaluate("window.lesionApp.lastShownProbabilities")
    assert own == pytest.approx(expected_views[0].tolist(), abs=1e-4)


def test_each_tier_says_what_to_do_and_only_the_lowest_says_nothing_points_to_cancer(site, photo):
    site.use_manifest(lambda m: m["decision"].pop("ood", None))
    share = cancer_share(site, classify_file(site.page, photo))
    page = site.page
    assert page.get_attribute("#results", "data-photo-warnings") == "0", page.inner_text("#alert")
    for urgent, check, unsure_below, tier, words in [
        (min(share + 0.05, 1.0), share / 2, 0.0, "check", "checked by a doctor in the coming weeks"),
        (share / 2, share / 4, 0.0, "urgent", "dermatologist promptly"),
        (1.0, min(share + 0.05, 1.0), 0.0, "routine", "nothing in this photo points"),
        (1.0, min(share + 0.05, 1.0), 1.01, "check", "unsure about this photo"),
    ]:
        site.use_manifest(lambda m, u=urgent, c=check, b=unsure_below: with_tiers(m["decision"], u, c, b))
        classify_file(page, photo)
        assert page.get_attribute("#results", "data-tier") == tier
        guidance = page.inner_text("#guidance").lower()
        assert words in guidance, guidance
        said = verdict_text(page).lower()
        if tier != "urgent":
            assert "cannot rule out skin cancer" in guidance
        if tier == "routine":
            assert "abcde" in guidance
        if tier != "routine":
            assert not any(word in said for word in REASSURING), said
        assert page.is_visible("#model-output") and page.is_hidden("#show-output")


def rgba_png(path: Path, alpha: int) -> Path:
    """An RGBA PNG of a lesion-like image, every pixel with the given alpha."""
    bgra = np.dstack([cv2.cvtColor(lesion_like(300, 400, 9), cv2.COLOR_RGB2BGR), np.full((300, 400), alpha, np.uint8)])
    cv2.imwrite(str(path), bgra)
    return path


def test_transparency_note_only_for_transparent_pixels_from_any_source(site, tmp_path):
    site.use_manifest()
    page = site.page
    opaque, see_through = rgba_png(tmp_path / "opaque.png", 255), rgba_png(tmp_path / "half.png", 128)
    assert cv2.imread(str(opaque), cv2.IMREAD_UNCHANGED).shape[2] == 4
    classify_file(page, opaque)
    assert "transparent" not in page.inner_text("#alert")
    classify_file(page, see_through)
    assert "transparent" in page.inner_text("#alert")
    paste_file(page, see_through)
    assert "transparent" in page.inner_text("#alert")
    paste_file(page, opaque)
    assert "transparent" not in page.inner_text("#alert")


def test_camera_photo_gets_no_transparency_note(site):
    page = site.new_page()
    page.click("#camera-open")
    page.wait_for_selector("#camera[data-camera-state=on]")
    page.wait_for_function("() => document.getElementById('camera-video').videoWidth > 0")
    page.click("#camera-shoot")
    assert wait_for_result(page) is not None
    assert page.get_attribute("#results", "data-state") == "done"
    assert "transparent" not in page.inner_text("#alert")
    assert page.get_attribute("#camera", "data-camera-state") == "off"
    page.context.close()


@pytest.mark.parametrize("motion", ["reduce", "no-preference"])
def test_on_a_phone_the_result_heading_is_brought_into_view_and_focused(site, photo, motion):
    site.use_manifest()
    page = site.new_page(viewport=PHONE, reduced_motion=motion)
    assert page.locator("#results-title").bounding_box() is None  # hidden before a result
    in_view = """() => {
        const box = document.getElementById('results-title').getBoundingClientRect();
        return box.top >= 0 && box.bottom <= window.innerHeight;
    }"""
    classify_file(page, photo)
    if motion == "reduce":  # no smooth scrolling: in view as soon as the result is shown
        assert page.evaluate(in_view)
    else:
        page.wait_for_function(in_view, timeout=5000)
    assert page.evaluate("document.activeElement.id") == "results-title"
    assert page.evaluate("window.scrollY") > 0
    page.context.close()


def dermatoscope_border_images(count: int) -> list[Path]:
    """Real HAM10000 images whose four corners are near-black (a round dermatoscope field) and whose
    mean grey over all pixels is low: the kind the old checks called very dark."""
    with (REAL_DATA / "HAM10000_metadata.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    found = []
    for row in rows:
        path = REAL_DATA / "HAM10000_images" / f"{row['image_id']}.jpg"
        x = preprocess_file(path).astype(np.float64)
        grey = 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]
        corners = [grey[:4, :4], grey[:4, -4:], grey[-4:, :4], grey[-4:, -4:]]
        if all(c.mean() < 40 for c in corners) and grey.mean() < 115:
            found.append(path)
            if len(found) == count:
                return found
    raise AssertionError(f"only {len(found)} HAM10000 images with a dark round border")


@needs_real_data
@pytest.mark.real_data
def test_real_dermatoscope_images_with_a_dark_border_are_not_called_dark(site):
    manifest = site.use_manifest()
    darkest = manifest["decision"]["image_checks"]["bounds"]["brightness"]["min"]
    for path in dermatoscope_border_images(3):
        classify_file(site.page, path)
        checks = [w["check"] for w in site.page.evaluate("window.lesionApp.lastWarnings")]
        assert "brightness:min" not in checks, path.name
        x = last_input(site.page).astype(np.float64)
        all_pixels = (0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]).mean()
        assert site.page.evaluate("window.lesionApp.lastStatistics.brightness") > max(all_pixels, darkest)


def test_a_synthetic_dermatoscope_border_is_ignored_by_the_browser_checks(site, tmp_path):
    site.use_manifest()
    rgb = lesion_like(450, 600, 12)
    yy, xx = np.mgrid[0:450, 0:600]
    bordered = rgb.copy()
    bordered[(yy - 225) ** 2 + (xx - 300) ** 2 > 260**2] = (3, 3, 3)
    for image, name in ((rgb, "plain"), (bordered, "bordered")):
        classify_file(site.page, write_rgb(tmp_path / f"{name}.png", image))
        stats = site.page.evaluate("window.lesionApp.lastStatistics")
        if name == "plain":
            plain = stats
    assert stats["brightness"] == pytest.approx(plain["brightness"], rel=0.02)
    assert stats["skin_share"] == pytest.approx(plain["skin_share"], abs=0.02)
    assert preprocess_array(bordered).mean() < preprocess_array(rgb).mean() - 10
