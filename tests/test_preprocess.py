"""The Python half of the preprocessing spec."""

import cv2
import numpy as np
import pytest

from tests.image_factory import lesion_like, write_exif_rotated_jpeg, write_gray_jpeg, write_rgb, write_rgba_png
from trainer.preprocess import (
    INPUT_HEIGHT,
    INPUT_WIDTH,
    CropBox,
    ImageDecodeError,
    centre_crop_box,
    decode_image,
    preprocess_array,
    preprocess_file,
)


@pytest.mark.parametrize(
    ("width", "height", "expected"),
    [
        (200, 150, CropBox(0, 0, 200, 150)),  # already 4:3
        (4000, 3000, CropBox(0, 0, 4000, 3000)),
        (400, 150, CropBox(100, 0, 200, 150)),  # wide: crop the sides
        (150, 400, CropBox(0, 143, 150, 113)),  # tall: 150*3/4 = 112.5 rounds half up to 113
        (1, 1, CropBox(0, 0, 1, 1)),
        (3, 2, CropBox(0, 0, 3, 2)),  # 2*4/3 = 2.67 rounds to 3
        (10, 1, CropBox(4, 0, 1, 1)),
    ],
)
def test_centre_crop_box(width, height, expected):
    assert centre_crop_box(width, height) == expected


def test_crop_box_is_centred_and_3_to_4_for_many_sizes():
    for width in range(1, 60, 7):
        for height in range(1, 60, 5):
            box = centre_crop_box(width, height)
            assert box.x >= 0 and box.x + box.width <= width and box.y >= 0 and box.y + box.height <= height
            assert abs(box.height * 4 / 3 - box.width) <= 1  # aspect 3:4 within rounding
            assert abs((width - box.width) - 2 * box.x) <= 1 and abs((height - box.height) - 2 * box.y) <= 1


def test_output_shape_dtype_and_range(tmp_path):
    out = preprocess_file(write_rgb(tmp_path / "a.png", lesion_like(301, 157)))
    assert out.shape == (INPUT_HEIGHT, INPUT_WIDTH, 3) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 255


def test_shrinking_is_area_average_in_rgb_order():
    image = np.zeros((150, 200, 3), np.uint8)
    image[..., 0] = 200  # pure red
    image[:, :100, 2] = 100  # blue on the left half only
    out = preprocess_array(image)
    assert np.allclose(out[..., 0], 200)
    assert np.allclose(out[:, :50, 2], 100) and np.allclose(out[:, 50:, 2], 0)


def test_exact_two_to_one_area_average():
    image = np.arange(150 * 200 * 3, dtype=np.uint32).reshape(150, 200, 3) % 251
    out = preprocess_array(image.astype(np.uint8))
    expected = image.reshape(75, 2, 100, 2, 3).mean(axis=(1, 3))
    assert np.abs(out - expected).max() < 1e-3


def test_tiny_images_are_enlarged_without_error():
    out = preprocess_array(np.full((1, 1, 3), 77, np.uint8))
    assert out.shape == (75, 100, 3) and np.allclose(out, 77)


def test_grayscale_becomes_three_equal_channels(tmp_path):
    rgb = decode_image(write_gray_jpeg(tmp_path / "g.jpg", 60, 80))
    assert rgb.shape == (60, 80, 3)
    assert np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])


def test_alpha_is_composited_over_white(tmp_path):
    rgba_path = write_rgba_png(tmp_path / "a.png", 30, 40)
    rgb = decode_image(rgba_path)
    raw = cv2.imread(str(rgba_path), cv2.IMREAD_UNCHANGED)
    transparent = raw[..., 3] == 0
    assert transparent.any() and np.all(rgb[transparent] == 255)
    opaque = raw[..., 3] == 255
    assert np.array_equal(rgb[opaque], raw[..., 2::-1][opaque])


def test_exif_orientation_is_applied(tmp_path):
    upright = lesion_like(120, 160, 1)
    decoded = decode_image(write_exif_rotated_jpeg(tmp_path / "r.jpg", upright))
    assert decoded.shape == upright.shape
    error_upright = np.abs(decoded.astype(int) - upright).mean()
    error_upside_down = np.abs(decoded.astype(int) - upright[::-1, ::-1]).mean()
    assert error_upright < 8 and error_upright < error_upside_down / 2  # JPEG loss only


@pytest.mark.parametrize(
    ("name", "content"),
    [("empty.jpg", b""), ("text.jpg", b"this is not an image"), ("truncated.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF")],
)
def test_undecodable_files_raise_an_error_naming_the_file(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImageDecodeError, match=name):
        decode_image(path)


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(ImageDecodeError, match=r"nope\.jpg"):
        decode_image(tmp_path / "nope.jpg")
