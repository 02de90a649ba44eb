"""The preprocessing spec and its Python implementation (the browser's twin is static/js/preprocess.js).

Steps, identical on both sides:
1. decode to 8-bit RGB with EXIF orientation applied; grey images become three equal channels;
   transparent pixels are composited over white (opaque pixels are unchanged);
2. centre-crop to the model's 3:4 (height:width) aspect, with integer rounding defined below;
3. resize the crop to 100x75: area averaging (cv2.INTER_AREA) when shrinking, bilinear with
   half-pixel centres (cv2.INTER_LINEAR) when enlarging; computed in float32, not rounded;
4. feed float32 RGB values in 0..255: any normalisation lives inside the Keras model.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

INPUT_HEIGHT = 75
INPUT_WIDTH = 100
CHANNELS = 3

PREPROCESSING_SPEC: dict = {
    "id": "rgb-centre-3x4-area-v1",
    "input_height": INPUT_HEIGHT,
    "input_width": INPUT_WIDTH,
    "channels": CHANNELS,
    "channel_order": "RGB",
    "exif_orientation": "applied",
    "alpha": "composited over white",
    "crop": "centre, aspect 3:4 (height:width); wide: crop_w=floor((8*H+3)/6); tall: "
    "crop_h=floor((6*W+4)/8); offset=floor((size-crop)/2)",
    "resize_shrink": "area (cv2.INTER_AREA)",
    "resize_enlarge": "bilinear, half-pixel centres (cv2.INTER_LINEAR)",
    "dtype": "float32",
    "value_range": [0, 255],
    "normalisation": "inside the model",
}


class ImageDecodeError(ValueError):
    """An image file that cannot be decoded; the message names the file."""


class CropBox(NamedTuple):
    """A pixel rectangle in the decoded image."""

    x: int
    y: int
    width: int
    height: int


def centre_crop_box(width: int, height: int) -> CropBox:
    """Largest centred 3:4 (height:width) box in an image, rounded as the browser rounds."""
    if width * 3 >= height * 4:
        crop_w, crop_h = (8 * height + 3) // 6, height
    else:
        crop_w, crop_h = width, (6 * width + 4) // 8
    crop_w, crop_h = max(1, min(crop_w, width)), max(1, min(crop_h, height))
    return CropBox((width - crop_w) // 2, (height - crop_h) // 2, crop_w, crop_h)


def decode_image(path: str | Path) -> np.ndarray:
    """Decode an image file to uint8 RGB (H, W, 3), EXIF orientation applied, alpha over white."""
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as err:
        raise ImageDecodeError(f"cannot read image file {path}: {err}") from err
    # IMREAD_COLOR applies EXIF orientation, expands grey to 3 channels and scales 16-bit to 8.
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise ImageDecodeError(f"cannot decode image file {path} (empty, truncated or not an image)")
    if data[:8].tobytes() == _PNG_SIGNATURE:
        with_alpha = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
        if with_alpha.ndim == 3 and with_alpha.shape[2] == 4:
            if with_alpha.dtype == np.uint16:
                with_alpha = (with_alpha >> 8).astype(np.uint8)
            return _composite_over_white(cv2.cvtColor(with_alpha, cv2.COLOR_BGRA2RGBA))
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _composite_over_white(rgba: np.ndarray) -> np.ndarray:
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    rgb = rgba[..., :3].astype(np.float32)
    return np.round(rgb * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)


def resize_to_input(crop: np.ndarray) -> np.ndarray:
    """Resize an RGB crop to (75, 100, 3) float32: area when shrinking, bilinear when enlarging."""
    height, width = crop.shape[:2]
    shrinking = width >= INPUT_WIDTH and height >= INPUT_HEIGHT
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(crop.astype(np.float32), (INPUT_WIDTH, INPUT_HEIGHT), interpolation=interpolation)


def crop_to(rgb: np.ndarray, box: CropBox | None = None) -> np.ndarray:
    """The ``box`` of a decoded image (its centre 3:4 box by default)."""
    box = box or centre_crop_box(rgb.shape[1], rgb.shape[0])
    return rgb[box.y : box.y + box.height, box.x : box.x + box.width]


def preprocess_array(rgb: np.ndarray, box: CropBox | None = None) -> np.ndarray:
    """Crop (centre 3:4 by default) and resize a decoded uint8 RGB image to model input."""
    return resize_to_input(crop_to(rgb, box))


def preprocess_file(path: str | Path) -> np.ndarray:
    """Decode and preprocess one image file to the model's float32 (75, 100, 3) input."""
    return preprocess_array(decode_image(path))
