"""Images the tests make themselves: odd sizes and aspects, grey, alpha, EXIF rotation, HAM layouts."""

from __future__ import annotations

import csv
import struct
from pathlib import Path

import cv2
import numpy as np

from trainer.info import CLASS_CODES


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


def write_gray_jpeg(path: Path, height: int, width: int, seed: int = 0) -> Path:
    """A single-channel JPEG."""
    gray = cv2.cvtColor(lesion_like(height, width, seed), cv2.COLOR_RGB2GRAY)
    cv2.imwrite(str(path), gray, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return path


def write_rgba_png(path: Path, height: int, width: int, seed: int = 0) -> Path:
    """A PNG whose alpha fades from opaque to transparent across the image."""
    rgb = lesion_like(height, width, seed)
    alpha = np.tile(np.linspace(255, 0, width, dtype=np.float32), (height, 1))
    alpha[: height // 3] = 255  # an opaque band
    bgra = np.dstack([cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), alpha.round().astype(np.uint8)])
    cv2.imwrite(str(path), bgra)
    return path


def _exif_orientation_segment(orientation: int) -> bytes:
    """An APP1 Exif segment holding just the orientation tag (little-endian TIFF)."""
    ifd = struct.pack("<H", 1) + struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack("<I", 0)
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd
    payload = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def write_exif_rotated_jpeg(path: Path, upright_rgb: np.ndarray, orientation: int = 6) -> Path:
    """Store an upright image rotated as a phone would, with the EXIF tag that undoes it.

    Orientation 6 means "rotate 90° clockwise to display": the stored pixels are the upright image
    rotated 90° counter-clockwise.
    """
    stored = cv2.rotate(upright_rgb, cv2.ROTATE_90_COUNTERCLOCKWISE) if orientation == 6 else upright_rgb
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(stored, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    data = encoded.tobytes()
    path.write_bytes(data[:2] + _exif_orientation_segment(orientation) + data[2:])
    return path


def parity_image_set(folder: Path) -> list[Path]:
    """The generated images of the parity tests: formats, sizes 1x1..4000x3000, grey, alpha, EXIF."""
    folder.mkdir(parents=True, exist_ok=True)
    sizes = [(1, 1), (2, 3), (50, 37), (75, 100), (99, 74), (150, 200), (301, 157), (640, 480), (117, 500)]
    paths = [write_rgb(folder / f"rgb_{h}x{w}.png", lesion_like(h, w, h * w)) for h, w in sizes]
    paths += [write_rgb(folder / f"rgb_{h}x{w}.jpg", lesion_like(h, w, h + w)) for h, w in [(450, 600), (333, 777)]]
    paths.append(write_rgb(folder / "large_3000x4000.jpg", lesion_like(3000, 4000, 7)))
    paths.append(write_gray_jpeg(folder / "gray_240x320.jpg", 240, 320, 3))
    paths.append(write_rgba_png(folder / "rgba_120x160.png", 120, 160, 4))
    paths.append(write_exif_rotated_jpeg(folder / "exif_rotated.jpg", lesion_like(300, 400, 5)))
    return paths


def write_ham_layout(folder: Path, per_class: int = 6, size: tuple[int, int] = (150, 200), seed: int = 0) -> Path:
    """A tiny HAM10000-layout dataset: metadata CSV + images, two images per lesion."""
    images = folder / "HAM10000_images"
    images.mkdir(parents=True, exist_ok=True)
    rows = []
    for c, code in enumerate(CLASS_CODES):
        for i in range(per_class):
            image_id = f"ISIC_{c:02d}{i:05d}"
            rgb = lesion_like(*size, seed=seed + 100 * c + i)
            rgb = np.clip(rgb.astype(int) + np.array([30 * c - 90, 0, 90 - 30 * c]), 0, 255).astype(np.uint8)
            write_rgb(images / f"{image_id}.jpg", rgb)
            rows.append({"lesion_id": f"HAM_{c:02d}{i // 2:05d}", "image_id": image_id, "dx": code})
    with (folder / "HAM10000_metadata.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["lesion_id", "image_id", "dx", "dx_type", "age", "sex"])
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "dx_type": "histo", "age": 50, "sex": "male"})
    return folder
