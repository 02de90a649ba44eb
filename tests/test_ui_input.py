"""Getting a photo in (file, drag and drop, paste, camera) and framing it: each path ends in the
same prediction, and the frame the patient sets is exactly the crop the model sees."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.browser_helpers import (
    classify_file,
    drop_file,
    last_input,
    open_classifier,
    paste_file,
    wait_for_result,
)
from tests.image_factory import lesion_like, write_rgb
from trainer.preprocess import CropBox, centre_crop_box, decode_image, preprocess_array, preprocess_file

pytestmark = pytest.mark.browser

# Chromium's fake camera: a generated video stream instead of a real device.
FAKE_CAMERA = ("--use-fake-device-for-media-stream",)


@pytest.fixture(scope="module")
def chromium_args():
    return FAKE_CAMERA


@pytest.fixture(scope="module")
def context_options():
    return {"service_workers": "block", "permissions": ["camera"]}


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    return write_rgb(tmp_path_factory.mktemp("input") / "spot.jpg", lesion_like(450, 600, 21))


@pytest.fixture(scope="module")
def wide_photo(tmp_path_factory):
    return write_rgb(tmp_path_factory.mktemp("input") / "wide.png", lesion_like(300, 800, 22))


def js_round(value: float) -> int:
    """JavaScript's Math.round (halves up; Python's round takes halves to even)."""
    return math.floor(value + 0.5)


def frame_box(page) -> dict:
    return page.evaluate("window.lesionApp.lastCropBox")


def assert_input_is_python_crop(page, path, box: dict) -> None:
    expected = preprocess_array(decode_image(path), CropBox(**box))
    assert float(np.abs(last_input(page) - expected).max()) < 1e-3


def test_choosing_a_file_predicts_at_once_with_the_default_centre_frame(page, photo):
    assert classify_file(page, photo) is not None
    assert page.is_visible("#framing") and page.is_visible("#results")
    assert frame_box(page) == centre_crop_box(600, 450)._asdict()
    assert page.get_attribute("#frame", "data-box") == "0,0,600,450"
    assert float(np.abs(last_input(page) - preprocess_file(photo)).max()) < 1e-3
    preview = page.evaluate(
        "Array.from(document.getElementById('preview').getContext('2d')"
        ".getImageData(0, 0, 100, 75).data.filter((_, i) => i % 4 !== 3))"
    )
    assert np.abs(np.array(preview).reshape(75, 100, 3) - np.round(last_input(page))).max() <= 1


def test_drag_and_drop_and_paste_predict_like_the_file_picker(page, photo, wide_photo):
    expected = classify_file(page, photo)
    classify_file(page, wide_photo)
    assert drop_file(page, photo) == pytest.approx(expected, abs=1e-6)
    classify_file(page, wide_photo)
    assert paste_file(page, photo) == pytest.approx(expected, abs=1e-6)


def test_pasting_or_dropping_something_that_is_not_a_file_says_so(page):
    page.evaluate(
        """() => {
            const dt = new DataTransfer();
            dt.setData('text/plain', 'my-mole.jpg');
            document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true }));
        }"""
    )
    assert "no picture" in page.inner_text("#alert")
    page.evaluate(
        """() => {
            const dt = new DataTransfer();
            dt.setData('text/uri-list', 'https://example.org/mole.jpg');
            document.getElementById('drop-zone').dispatchEvent(
                new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
        }"""
    )
    assert "not a file" in page.inner_text("#alert")


def test_keyboard_moves_and_resizes_the_frame_and_predicts_once_after_a_pause(page, photo):
    classify_file(page, photo)
    count = page.evaluate("window.lesionApp.predictions")
    # Six quick key presses, all inside the debounce delay: one prediction for the final frame.
    page.evaluate(
        """() => {
            const frame = document.getElementById('frame');
            for (const key of ['-', '-', '-', 'ArrowRight', 'ArrowRight', 'ArrowDown']) {
                frame.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true }));
            }
        }"""
    )
    assert page.get_attribute("#results", "data-state") == "working"
    wait_for_result(page)
    assert page.evaluate("window.lesionApp.predictions") == count + 1
    box = frame_box(page)
    assert (box["width"], box["height"]) == (js_round(600 * 0.85), js_round(450 * 0.85))
    assert box["x"] > (600 - box["width"]) // 2 and box["y"] > (450 - box["height"]) // 2
    assert page.get_attribute("#frame", "data-box") == ",".join(str(box[k]) for k in ("x", "y", "width", "height"))
    assert_input_is_python_crop(page, photo, box)

    page.focus("#frame")
    page.keyboard.press("Home")
    wait_for_result(page)
    assert frame_box(page) == centre_crop_box(600, 450)._asdict()


def test_size_slider_pointer_drag_reset_and_analyse_button(page, wide_photo):
    classify_file(page, wide_photo)
    default = centre_crop_box(800, 300)._asdict()
    assert frame_box(page) == default

    page.fill("#frame-size", "50")
    wait_for_result(page)
    box = frame_box(page)
    assert (box["width"], box["height"]) == (js_round(default["width"] / 2), js_round(default["height"] / 2))
    assert_input_is_python_crop(page, wide_photo, box)

    page.locator("#frame").scroll_into_view_if_needed()  # a new photo scrolls to its result
    frame = page.locator("#frame").bounding_box()
    photo_width = page.locator("#photo").bounding_box()["width"]
    start = (frame["x"] + frame["width"] / 2, frame["y"] + frame["height"] / 2)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] - 60, start[1] + 20, steps=4)
    page.mouse.up()
    wait_for_result(page)
    moved = frame_box(page)
    assert moved["x"] == pytest.approx(box["x"] - 60 * 800 / photo_width, abs=2)
    assert moved["y"] == pytest.approx(box["y"] + 20 * 800 / photo_width, abs=2)
    assert_input_is_python_crop(page, wide_photo, moved)

    page.mouse.move(*start)
    page.keyboard.down("Control")
    page.mouse.wheel(0, 100)  # Ctrl + wheel (or a trackpad pinch) makes the frame smaller
    page.keyboard.up("Control")
    wait_for_result(page)
    assert frame_box(page)["width"] == js_round(default["width"] * 0.45)
    page.mouse.wheel(0, 100)  # a plain wheel scrolls the page and leaves the frame alone
    assert page.get_attribute("#results", "data-state") == "done"

    count = page.evaluate("window.lesionApp.predictions")
    page.click("#frame-analyse")
    wait_for_result(page)
    assert page.evaluate("window.lesionApp.predictions") == count + 1

    page.click("#frame-reset")
    wait_for_result(page)
    assert frame_box(page) == default


def test_camera_photo_is_framed_and_predicted_and_the_camera_switched_off(page):
    assert page.get_attribute("#camera", "data-camera-state") == "off"
    page.click("#camera-open")
    page.wait_for_selector("#camera[data-camera-state=on]")
    assert page.is_visible("#camera-video") and "Camera on" in page.inner_text("#camera-status")
    page.wait_for_function("() => document.getElementById('camera-video').videoWidth > 0")
    width, height = page.eval_on_selector("#camera-video", "v => [v.videoWidth, v.videoHeight]")
    page.click("#camera-shoot")
    assert wait_for_result(page) is not None
    assert frame_box(page) == centre_crop_box(width, height)._asdict()
    assert page.get_attribute("#camera", "data-camera-state") == "off"
    assert page.eval_on_selector("#camera-video", "v => v.srcObject") is None


@pytest.mark.parametrize(
    ("setup", "state", "words"),
    [
        ("", "denied", "refused"),  # the context does not grant the camera permission
        (
            "navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('', 'NotFoundError'));",
            "unavailable",
            "No camera",
        ),
        ("delete Navigator.prototype.mediaDevices;", "unavailable", "cannot use a camera"),
    ],
    ids=["denied", "no camera", "no camera support"],
)
def test_camera_problems_are_explained(session, setup, state, words):
    base_url, browser = session
    context = browser.new_context(service_workers="block")
    if setup:
        context.add_init_script(setup)
    page = context.new_page()
    open_classifier(page, base_url)
    page.click("#camera-open")
    page.wait_for_selector(f"#camera[data-camera-state={state}]")
    assert words in page.inner_text("#camera-status") and page.is_visible("#camera-status")
    assert page.is_visible("input#image-input") or page.is_visible("label[for=image-input]")
    context.close()
