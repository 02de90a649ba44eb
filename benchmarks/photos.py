"""Generated photos: a lesion-like image of any size, written as JPEG or PNG (benchmarks and tests)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def lesion_like(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth skin-toned RGB image with a dark blob and some texture (uint8, H x W x 3)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    cy, cx = height * rng.uniform(0.35, 0.65), width * rng.uniform(0.35, 0.65)
    radius = max(1.0, min(height, width) * rng.uniform(0.15, 0.35))
    blob = np.exp(-(((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * radius**2)))
    skin = np.array([224, 172, 140], np.float32) + rng.normal(0, 6, 3)
    lesion = np.array([90, 55, 40], np.float32) + rng.normal(0, 10, 3)
    image = skin * (1 - blob[..., None]) + lesion * blob[..., None]
    image += rng.normal(0, 8, (height, width, 3)) + 20 * np.sin(xx / 7.0)[..., None] * np.cos(yy / 11.0)[..., None]
    return np.clip(image, 0, 255).astype(np.uint8)


def write_rgb(path: Path, rgb: np.ndarray, quality: int = 90) -> Path:
    """Write an RGB array as JPEG or PNG (by suffix)."""
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if path.suffix.lower() in (".jpg", ".jpeg") else []
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params):
        raise OSError(f"could not write {path}")
    return path
