"""Images that are not skin lesions, for measuring the OOD score: each set written as PNG files into a folder.

- ``patterns``: flat colours, gradients, checkerboards, stripes, colour bars, noise, shapes (generated);
- ``documents``: pages of this repository's README typeset with Pillow in several fonts, sizes and colours;
- ``screenshots``: the app's own page and the model report rendered by headless Chromium (Playwright);
- ``photos``: the sample photographs that scikit-image, Matplotlib and scikit-learn ship (people, animals,
  objects, scenes, microscopy, astronomy), whole, and ``photo_crops``: their quadrants (closer views);
- ``faces``: the 100 face images (25x25 grey) of scikit-image's LFW subset.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

REPO_ROOT = Path(__file__).resolve().parent.parent
HEIGHT, WIDTH = 300, 400
FONTS = Path("/usr/share/fonts/truetype/dejavu")


def _save(folder: Path, name: str, rgb: np.ndarray) -> Path:
    path = folder / f"{name}.png"
    Image.fromarray(np.asarray(rgb, np.uint8)).convert("RGB").save(path)
    return path


def patterns(seed: int = 0) -> dict[str, np.ndarray]:
    """Generated non-photographic images, 300x400 RGB."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH] / np.array([HEIGHT, WIDTH])[:, None, None]
    images: dict[str, np.ndarray] = {}
    colours = {
        "black": (0, 0, 0),
        "white": (255, 255, 255),
        "grey": (128, 128, 128),
        "red": (200, 30, 30),
        "green": (40, 160, 60),
        "blue": (30, 60, 200),
        "skin": (224, 172, 140),
        "brown": (120, 80, 50),
        "pink": (230, 150, 170),
    }
    for name, rgb in colours.items():
        images[f"flat_{name}"] = np.full((HEIGHT, WIDTH, 3), rgb)
    for name, (a, b) in {"grey": ((0, 0, 0), (255, 255, 255)), "skin": ((250, 210, 180), (90, 50, 30))}.items():
        for axis, ramp in (("horizontal", xx), ("vertical", yy)):
            images[f"gradient_{name}_{axis}"] = np.array(a) + ramp[..., None] * (np.array(b) - np.array(a))
    images["gradient_rainbow"] = np.stack([xx * 255, yy * 255, (1 - xx) * 255], axis=-1)
    for cells in (2, 8, 32):
        board = ((np.floor(xx * cells * 4 / 3) + np.floor(yy * cells)) % 2)[..., None]
        images[f"checkerboard_{cells}"] = board * 255 * np.ones(3)
    for period in (4, 16, 64):
        stripes = (np.arange(WIDTH) // (period // 2) % 2)[None, :, None] * np.ones((HEIGHT, 1, 3))
        images[f"stripes_{period}"] = stripes * np.array([200, 40, 40]) + (1 - stripes) * 230
    bars = np.array([[192, 192, 192], [192, 192, 0], [0, 192, 192], [0, 192, 0], [192, 0, 192], [192, 0, 0]])
    images["colour_bars"] = bars[(xx * len(bars)).astype(int).clip(0, len(bars) - 1)]
    images["green_test_card"] = np.where(((xx * 8).astype(int) + (yy * 6).astype(int))[..., None] % 2, 40, 200) * [
        0.3,
        1,
        0.3,
    ]
    images["noise_uniform"] = rng.integers(0, 256, (HEIGHT, WIDTH, 3))
    images["noise_skin"] = np.clip(np.array(colours["skin"]) + rng.normal(0, 25, (HEIGHT, WIDTH, 3)), 0, 255)
    radius = np.hypot(yy - 0.5, (xx - 0.5) * 4 / 3)
    images["rings"] = (np.sin(radius * 60) > 0)[..., None] * np.array([250, 250, 250]) + 5
    images["target"] = np.where((radius < 0.25)[..., None], [90, 50, 30], [240, 240, 240])
    images["dark_disc_on_white"] = np.where((radius < 0.15)[..., None], [20, 20, 20], [255, 255, 255])
    images["brown_disc_on_skin"] = np.where((radius < 0.2)[..., None], [110, 70, 45], colours["skin"])
    for index in range(6):
        canvas = Image.new("RGB", (WIDTH, HEIGHT), tuple(int(v) for v in rng.integers(0, 256, 3)))
        draw = ImageDraw.Draw(canvas)
        for _ in range(12):
            x0, y0 = rng.integers(0, WIDTH), rng.integers(0, HEIGHT)
            box = [x0, y0, x0 + rng.integers(10, 200), y0 + rng.integers(10, 150)]
            fill = tuple(int(v) for v in rng.integers(0, 256, 3))
            (draw.ellipse if index % 2 else draw.rectangle)(box, fill=fill)
        images[f"shapes_{index}"] = np.asarray(canvas)
    return {name: np.clip(image, 0, 255).astype(np.uint8) for name, image in images.items()}


def documents() -> dict[str, np.ndarray]:
    """The README typeset as pages: (font, size, ink, paper) combinations, 300x400 to 900x1200."""
    paragraphs = [p.replace("\n", " ") for p in (REPO_ROOT / "README.md").read_text().split("\n\n") if p.strip()]
    text = "\n".join(textwrap.fill(p, 60) for p in paragraphs)
    styles = [
        ("DejaVuSans.ttf", 14, (0, 0, 0), (255, 255, 255), (400, 300)),
        ("DejaVuSerif.ttf", 18, (20, 20, 20), (250, 248, 240), (800, 600)),
        ("DejaVuSansMono.ttf", 12, (0, 0, 0), (255, 255, 255), (400, 300)),
        ("DejaVuSans-Bold.ttf", 24, (0, 0, 120), (255, 255, 255), (1200, 900)),
        ("DejaVuSans.ttf", 16, (230, 230, 230), (30, 30, 30), (800, 600)),
        ("DejaVuSerif.ttf", 28, (0, 0, 0), (255, 255, 255), (400, 300)),
        ("DejaVuSansMono.ttf", 20, (0, 200, 0), (0, 0, 0), (800, 600)),
        ("DejaVuSans.ttf", 10, (60, 60, 60), (255, 255, 230), (400, 300)),
    ]
    pages = {}
    for index, (font_file, size, ink, paper, (width, height)) in enumerate(styles):
        font = ImageFont.truetype(str(FONTS / font_file), size)
        page = Image.new("RGB", (width, height), paper)
        offset = index * 7  # each page starts at another line
        ImageDraw.Draw(page).multiline_text((10, 10), "\n".join(text.splitlines()[offset:]), fill=ink, font=font)
        pages[f"page_{index}_{Path(font_file).stem}_{size}pt"] = np.asarray(page)
    return pages


def screenshots(model_dir: Path, folder: Path) -> list[Path]:
    """The app's page (desktop and phone, with and without a result) and the model report, as PNG files."""
    from playwright.sync_api import sync_playwright

    from benchmarks.chromium import classify_file, launch_chromium, open_classifier
    from benchmarks.photos import lesion_like, write_rgb
    from webapp.local_server import run_server

    photo = write_rgb(folder / "lesion_like.jpg", lesion_like(300, 400))
    paths = []
    report = (model_dir / "report" / "report.html").resolve()
    with run_server({"LESION_MODEL_DIR": str(model_dir)}) as base_url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        for viewport in ({"width": 1280, "height": 800}, {"width": 390, "height": 844}):
            page = browser.new_page(viewport=viewport)
            tag = f"{viewport['width']}x{viewport['height']}"
            open_classifier(page, base_url)
            paths.append(folder / f"screenshot_app_{tag}.png")
            page.screenshot(path=paths[-1])
            classify_file(page, photo)
            for scroll in (0, 600):
                page.evaluate(f"window.scrollTo(0, {scroll})")
                paths.append(folder / f"screenshot_app_result_{tag}_{scroll}.png")
                page.screenshot(path=paths[-1])
            if report.is_file():
                page.goto(report.as_uri())
                for scroll in (0, 900):
                    page.evaluate(f"window.scrollTo(0, {scroll})")
                    paths.append(folder / f"screenshot_report_{tag}_{scroll}.png")
                    page.screenshot(path=paths[-1])
            page.close()
        browser.close()
    photo.unlink()
    return paths


def package_photos() -> dict[str, np.ndarray]:
    """The sample photographs installed with scikit-image, Matplotlib and scikit-learn, as RGB."""
    import matplotlib.cbook
    import skimage.data
    from sklearn.datasets import load_sample_images

    names = [
        "astronaut", "camera", "coffee", "chelsea", "rocket", "hubble_deep_field", "coins", "horse", "moon",
        "page", "text", "brick", "grass", "gravel", "cell", "retina", "immunohistochemistry", "logo",
        "microaneurysms", "colorwheel", "clock", "checkerboard", "shepp_logan_phantom",
    ]  # fmt: skip
    photos = {f"skimage_{name}": getattr(skimage.data, name)() for name in names}
    photos["skimage_motorcycle"] = skimage.data.stereo_motorcycle()[0]
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as handle:
        photos["matplotlib_grace_hopper"] = np.asarray(Image.open(handle).convert("RGB"))
    for name, image in zip(("china", "flower"), load_sample_images().images):
        photos[f"sklearn_{name}"] = image
    return {name: _rgb(image) for name, image in photos.items()}


def _rgb(image: np.ndarray) -> np.ndarray:
    """uint8 RGB from grey, boolean, float or RGBA sample images."""
    image = np.asarray(image)
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    elif image.dtype != np.uint8:
        image = (255 * (image - image.min()) / max(float(image.max() - image.min()), 1e-9)).astype(np.uint8)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    return image[..., :3]


def quadrants(photos: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The four quadrants of each photo: closer views, some of texture only."""
    crops = {}
    for name, image in photos.items():
        height, width = image.shape[0] // 2, image.shape[1] // 2
        for row in range(2):
            for column in range(2):
                crops[f"{name}_q{row}{column}"] = image[row * height : (row + 1) * height, column * width :][:, :width]
    return crops


def faces() -> dict[str, np.ndarray]:
    """The face images of scikit-image's LFW subset (the first 100 of its 200 images)."""
    import skimage.data

    return {f"lfw_face_{i:03d}": _rgb(face) for i, face in enumerate(skimage.data.lfw_subset()[:100])}


def write_image_sets(folder: Path, model_dir: Path) -> dict[str, list[Path]]:
    """Write every set into ``folder/<set>/``; the paths of each set's files."""
    photos = package_photos()
    generators: dict[str, Callable[[], dict[str, np.ndarray]]] = {
        "patterns": patterns,
        "documents": documents,
        "photos": lambda: photos,
        "photo_crops": lambda: quadrants(photos),
        "faces": faces,
    }
    sets = {}
    for name, generate in generators.items():
        (folder / name).mkdir(parents=True, exist_ok=True)
        sets[name] = [_save(folder / name, key, image) for key, image in generate().items()]
    (folder / "screenshots").mkdir(exist_ok=True)
    sets["screenshots"] = screenshots(model_dir, folder / "screenshots")
    return sets
