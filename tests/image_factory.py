"""Images the tests make themselves: odd sizes and aspects, grey, alpha, EXIF rotation, HAM layouts."""

from __future__ import annotations

import csv
import struct
from pathlib import Path

import cv2
import numpy as np

from benchmarks.photos import lesion_like, write_rgb
from trainer.info import CLASS_CODES


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


def _text_like(height: int, width: int, seed: int) -> np.ndarray:
    """Black typed lines on white paper."""
    rng = np.random.default_rng(seed)
    page = np.full((height, width, 3), 255, np.uint8)
    scale = height / 300
    for line in range(1, int(height / (28 * scale))):
        words = "".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz    "), 40))
        cv2.putText(
            page, words, (int(10 * scale), int(line * 28 * scale)), cv2.FONT_HERSHEY_SIMPLEX, 0.7 * scale, (0, 0, 0), 2
        )
    return page


def non_lesion_images(height: int = 300, width: int = 400, seed: int = 0) -> dict[str, np.ndarray]:
    """Photos that are not dermatoscope lesion images (uint8 RGB), by kind, for the photo checks."""
    rng = np.random.default_rng(seed)

    def flat(rgb: tuple[int, int, int]) -> np.ndarray:
        return np.full((height, width, 3), rgb, np.uint8)

    blurred = cv2.GaussianBlur(lesion_like(height, width, seed), (0, 0), sigmaX=width / 40)
    return {
        "black": flat((0, 0, 0)),
        "white": flat((255, 255, 255)),
        "grey": flat((128, 128, 128)),
        "flat_skin": flat((224, 172, 140)),
        "flat_red": flat((200, 30, 30)),
        "flat_green": flat((40, 160, 60)),
        "sky_blue": flat((135, 206, 235)),
        "noise": rng.integers(0, 256, (height, width, 3), dtype=np.uint8),
        "blurred_lesion": blurred,
        "dark_lesion": (lesion_like(height, width, seed) * 0.25).astype(np.uint8),
        "grey_lesion": np.repeat(cv2.cvtColor(lesion_like(height, width, seed), cv2.COLOR_RGB2GRAY)[..., None], 3, 2),
        "text": _text_like(height, width, seed),
    }


def write_cmyk_jpeg(path: Path, rgb: np.ndarray) -> Path:
    """A four-component (CMYK) JPEG, as print workflows save them."""
    from PIL import Image

    Image.fromarray(rgb).convert("CMYK").save(path, "JPEG", quality=90)
    return path


def write_png16(path: Path, rgb: np.ndarray) -> Path:
    """A 16-bit-per-channel PNG holding the 8-bit image scaled by 257 (so >> 8 gives it back)."""
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR).astype(np.uint16) * 257)
    return path


def write_animated_gif(path: Path, frames: list[np.ndarray]) -> Path:
    """A looping animated GIF."""
    from PIL import Image

    images = [Image.fromarray(frame) for frame in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=200, loop=0)
    return path


def write_webp(path: Path, rgb: np.ndarray) -> Path:
    """A lossy WebP."""
    from PIL import Image

    Image.fromarray(rgb).save(path, "WEBP", quality=90)
    return path


def write_large_png(path: Path, height: int = 8000, width: int = 10000) -> Path:
    """A huge but mostly flat PNG (compresses to well under a megabyte): skin with a dark spot."""
    image = np.full((height, width, 3), (224, 172, 140), np.uint8)
    image[height * 3 // 8 : height * 5 // 8, width * 2 // 5 : width * 3 // 5] = (90, 55, 40)
    return write_rgb(path, image)


def write_truncated(path: Path, source: Path, keep: float = 0.5) -> Path:
    """The first ``keep`` of another file's bytes, as an interrupted download leaves it."""
    data = source.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def write_heic_stub(path: Path) -> Path:
    """The start of an iPhone HEIC file: an ISO-BMFF 'ftyp' box with the 'heic' brand, then a 'meta' box."""
    ftyp = b"ftyp" + b"heic" + struct.pack(">I", 0) + b"mif1heic"
    meta = b"meta" + bytes(4) + b"\x00" * 64
    path.write_bytes(struct.pack(">I", len(ftyp) + 4) + ftyp + struct.pack(">I", len(meta) + 4) + meta)
    return path


def write_pdf_stub(path: Path) -> Path:
    """A minimal one-page PDF."""
    path.write_bytes(
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
        b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] >> endobj\n"
        b"trailer << /Root 1 0 R >>\n%%EOF\n"
    )
    return path


def write_svg(path: Path) -> Path:
    """A vector drawing of a brown spot."""
    path.write_text(
        '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300">'
        '<rect width="400" height="300" fill="#e0ac8c"/><circle cx="200" cy="150" r="60" fill="#5a3728"/></svg>\n'
    )
    return path


MILK_DIAGNOSES = ("AKIEC", "BCC", "BEN_OTH", "BKL", "DF", "INF", "MAL_OTH", "MEL", "NV", "SCCKA", "VASC")


def write_milk_layout(folder: Path, lesions_per_diagnosis: int = 3, seed: int = 0) -> Path:
    """A tiny MILK10k-layout dataset: one clinical and one dermoscopic JPEG per lesion, every diagnosis."""
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    truth, metadata = [], []
    for d, diagnosis in enumerate(MILK_DIAGNOSES):
        for i in range(lesions_per_diagnosis):
            lesion = f"IL_{d:02d}{i:05d}"
            truth.append({"lesion_id": lesion, **{name: float(name == diagnosis) for name in MILK_DIAGNOSES}})
            for t, image_type in enumerate(("clinical: close-up", "dermoscopic")):
                image_id = f"ISIC_{d:02d}{i:03d}{t}"
                write_rgb(images / f"{image_id}.jpg", lesion_like(150, 200, seed=seed + 1000 + 10 * d + 2 * i + t))
                metadata.append(
                    {"lesion_id": lesion, "image_type": image_type, "isic_id": image_id, "skin_tone_class": i % 3 + 2}
                )
    for name, rows in (("MILK10k_Training_GroundTruth.csv", truth), ("MILK10k_Training_Metadata.csv", metadata)):
        with (folder / name).open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return folder
