"""What people actually upload: every odd file gets a specific, human message, valid images are
predicted (with the same input as Python), and the page keeps working and leaks nothing afterwards."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.browser_helpers import classify_file, last_input
from tests.image_factory import (
    lesion_like,
    write_animated_gif,
    write_cmyk_jpeg,
    write_exif_rotated_jpeg,
    write_gray_jpeg,
    write_heic_stub,
    write_large_png,
    write_pdf_stub,
    write_png16,
    write_rgb,
    write_rgba_png,
    write_svg,
    write_truncated,
    write_webp,
)
from trainer.preprocess import centre_crop_box, preprocess_file

pytestmark = pytest.mark.browser

UPRIGHT = lesion_like(300, 400, 5)


def _text(path: Path) -> Path:
    path.write_text("Dear doctor, here is the photo of my mole.\n" * 20)
    return path


def _empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def _truncated(path: Path) -> Path:
    return write_truncated(path, write_rgb(path.with_name("whole.jpg"), lesion_like(300, 400, 2)))


# kind: (file name, writer, expected state, words the alert must contain; None: no message needed)
UPLOADS: dict[str, tuple[str, Callable[[Path], Path], str, tuple[str, ...] | None]] = {
    "empty file": ("empty.jpg", _empty, "error", ("empty",)),
    "text named .jpg": ("photo.jpg", _text, "error", ("text", "photo.jpg")),
    "truncated JPEG": ("cut.jpg", _truncated, "error", ("incomplete",)),
    "1x1 image": ("dot.png", lambda p: write_rgb(p, lesion_like(1, 1)), "done", ("1×1", "too small")),
    "10000x8000 PNG": ("huge.png", write_large_png, "done", None),
    "grayscale JPEG": ("grey.jpg", lambda p: write_gray_jpeg(p, 240, 320, 3), "done", ("black-and-white",)),
    "CMYK JPEG": ("print.jpg", lambda p: write_cmyk_jpeg(p, lesion_like(300, 400, 6)), "done", ("CMYK",)),
    "16-bit PNG": ("deep.png", lambda p: write_png16(p, lesion_like(300, 400, 7)), "done", None),
    "PNG with transparency": ("cutout.png", lambda p: write_rgba_png(p, 120, 160, 4), "done", ("transparent",)),
    "animated GIF": (
        "moving.gif",
        lambda p: write_animated_gif(p, [lesion_like(150, 200, i) for i in range(3)]),
        "done",
        ("animated", "first frame"),
    ),
    "SVG": ("drawing.svg", write_svg, "error", ("SVG", "not a photo")),
    "WebP": ("photo.webp", lambda p: write_webp(p, lesion_like(300, 400, 8)), "done", None),
    "HEIC": ("IMG_0001.heic", write_heic_stub, "error", ("HEIC", "JPEG", "Most Compatible")),
    "PDF": ("scan.pdf", write_pdf_stub, "error", ("PDF", "not a photo")),
    "EXIF-rotated phone photo": ("phone.jpg", lambda p: write_exif_rotated_jpeg(p, UPRIGHT), "done", None),
}
# CMYK to RGB conversion differs by one grey level between libjpeg-turbo builds.
PIXEL_TOLERANCE = {"CMYK JPEG": 1.0}


@pytest.fixture(scope="module")
def good_image(tmp_path_factory) -> Path:
    return write_rgb(tmp_path_factory.mktemp("good") / "good.jpg", lesion_like(450, 600, 11))


@pytest.fixture(scope="module")
def baseline(page, good_image) -> list[float]:
    """The probabilities of the good image on a fresh page."""
    return classify_file(page, good_image)


def alert_text(page) -> str:
    return page.inner_text("#alert") if page.is_visible("#alert") else ""


@pytest.mark.parametrize("kind", list(UPLOADS))
def test_upload_gets_a_human_message_and_the_next_photo_still_works(page, baseline, good_image, tmp_path, kind):
    name, write, expected_state, words = UPLOADS[kind]
    path = write(tmp_path / name)
    probabilities = classify_file(page, path, timeout_ms=30_000)
    assert page.get_attribute("#results", "data-state") == expected_state, alert_text(page)
    message = alert_text(page)
    for word in words or ():
        assert word.lower() in message.lower(), f"{kind}: {message!r} lacks {word!r}"
    if expected_state == "error":
        assert probabilities is None and page.get_attribute("#alert", "data-level") == "error"
        assert page.is_hidden("#results") and page.is_hidden("#framing")
    else:
        assert len(probabilities) == 7 and abs(sum(probabilities) - 1) < 1e-4
        assert page.get_attribute("#alert", "data-level") != "error"
        difference = float(np.abs(last_input(page) - preprocess_file(path)).max())
        assert difference <= PIXEL_TOLERANCE.get(kind, 1e-3), f"{kind}: input differs from Python by {difference}"

    assert classify_file(page, good_image) == pytest.approx(baseline, abs=1e-6)
    assert page.get_attribute("#alert", "data-level") != "error"
    if words:
        assert words[0].lower() not in alert_text(page).lower(), "the previous file's message is still shown"


def test_exif_rotated_photo_is_shown_and_framed_upright(page, tmp_path):
    classify_file(page, write_exif_rotated_jpeg(tmp_path / "phone.jpg", UPRIGHT))
    height, width = UPRIGHT.shape[:2]
    shown = page.eval_on_selector("#photo", "c => [c.width, c.height]")
    assert shown[0] > shown[1], f"the photo is shown {shown[0]}x{shown[1]}, not landscape as taken"
    assert page.evaluate("window.lesionApp.lastCropBox") == centre_crop_box(width, height)._asdict()


def test_twenty_predictions_leak_no_tensors(page, tmp_path):
    files = [write_rgb(tmp_path / f"{i}.jpg", lesion_like(200 + 10 * i, 300, i)) for i in range(4)]
    files += [_text(tmp_path / "text.jpg"), write_rgba_png(tmp_path / "alpha.png", 90, 120)]
    classify_file(page, files[0])
    before = page.evaluate("tf.memory()")
    for i in range(20):
        classify_file(page, files[i % len(files)])
    after = page.evaluate("tf.memory()")
    print(f"tf.memory before {before}, after 20 predictions {after}")
    assert after["numTensors"] == before["numTensors"]
    assert after["numBytes"] == before["numBytes"]
