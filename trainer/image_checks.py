"""Does a photo look like the dermatoscope images the model learnt from? Simple statistics of the model input.

The statistics are computed on the 75x100 RGB model input (values 0..255), which the browser reproduces
to 1e-5, so ``static/js/image-checks.js`` computes the same numbers with the same formulas.

Dermatoscope images often show a round field of view, vignetted towards the corners or inside a
near-black border; neither says anything about the lighting of the skin. So the statistics look only at
the central ellipse (normalised squared radius at most ``ELLIPSE_RADIUS2``) and, inside it, leave out the
dark border: pixels with grey below ``BORDER_GREY`` that are 4-connected to the image edge through such
pixels. When that would leave less than ``MIN_KEPT_SHARE`` of the ellipse (a dark photo, not a
dermatoscope), the whole ellipse counts. On the remaining ("kept") pixels:

- ``brightness``: mean grey level, grey = 0.299 R + 0.587 G + 0.114 B;
- ``colourfulness``: mean of max(R, G, B) - min(R, G, B) (0 for a black-and-white photo);
- ``skin_share``: share of pixels whose red channel is strictly above green and blue (skin, lesions and
  blood are red-dominant; sky, paper, grey and green are not);
- ``sharpness``: variance of the 4-neighbour Laplacian of grey over the interior pixels that are kept
  together with their 4 neighbours (low when blurred or featureless, very high for noise).

The thresholds are percentiles of these statistics on validation images: a photo outside them is
rarer than almost every real lesion image, and the page says which statistic and why.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

LOW_PERCENTILE = 0.5
HIGH_PERCENTILE = 99.5
ELLIPSE_RADIUS2 = 0.8
BORDER_GREY = 40.0
MIN_KEPT_SHARE = 0.25

# Which side(s) of each statistic's validation distribution is checked.
CHECKED_SIDES: dict[str, tuple[str, ...]] = {
    "brightness": ("min",),
    "colourfulness": ("min",),
    "skin_share": ("min",),
    "sharpness": ("min", "max"),
}

# 4-connectivity inside each image of a (N, H, W) stack, none across images.
_FOUR_NEIGHBOURS = np.zeros((3, 3, 3), bool)
_FOUR_NEIGHBOURS[1] = ndimage.generate_binary_structure(2, 1)


def dark_border(grey: np.ndarray) -> np.ndarray:
    """(N, H, W) booleans: pixels darker than ``BORDER_GREY`` connected to the image edge through dark pixels."""
    dark = grey < BORDER_GREY
    edge = np.zeros_like(dark)
    edge[:, [0, -1], :] = True
    edge[:, :, [0, -1]] = True
    return ndimage.binary_propagation(edge & dark, structure=_FOUR_NEIGHBOURS, mask=dark)


def central_ellipse(height: int, width: int) -> np.ndarray:
    """(H, W) booleans: pixel centres inside the centred ellipse of normalised squared radius ``ELLIPSE_RADIUS2``."""
    y = (np.arange(height) + 0.5 - height / 2) / (height / 2)
    x = (np.arange(width) + 0.5 - width / 2) / (width / 2)
    return (y * y)[:, None] + (x * x)[None, :] <= ELLIPSE_RADIUS2


def kept_pixels(grey: np.ndarray) -> np.ndarray:
    """(N, H, W) booleans: the pixels the statistics use (the central ellipse less the dark border)."""
    ellipse = central_ellipse(*grey.shape[1:])
    kept = ellipse & ~dark_border(grey)
    too_few = kept.sum(axis=(1, 2)) < MIN_KEPT_SHARE * ellipse.sum()
    kept[too_few] = ellipse
    return kept


def _masked_mean(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return (values * mask).sum(axis=(1, 2)) / np.maximum(mask.sum(axis=(1, 2)), 1)


def image_statistics(images: np.ndarray) -> dict[str, np.ndarray]:
    """Per-image statistics of RGB model inputs, (N, 75, 100, 3) or one (75, 100, 3), uint8 or float."""
    x = np.asarray(images, dtype=np.float64)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"expected RGB images shaped (N, H, W, 3) or (H, W, 3), got {np.shape(images)}")
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    grey = 0.299 * r + 0.587 * g + 0.114 * b
    kept = kept_pixels(grey)

    centre = grey[:, 1:-1, 1:-1]
    laplacian = grey[:, :-2, 1:-1] + grey[:, 2:, 1:-1] + grey[:, 1:-1, :-2] + grey[:, 1:-1, 2:] - 4 * centre
    counted = kept[:, 1:-1, 1:-1] & kept[:, :-2, 1:-1] & kept[:, 2:, 1:-1] & kept[:, 1:-1, :-2] & kept[:, 1:-1, 2:]
    laplacian_mean = _masked_mean(laplacian, counted)
    return {
        "brightness": _masked_mean(grey, kept),
        "colourfulness": _masked_mean(x.max(axis=-1) - x.min(axis=-1), kept),
        "skin_share": _masked_mean((r > g) & (r > b), kept),
        "sharpness": _masked_mean((laplacian - laplacian_mean[:, None, None]) ** 2, counted),
    }


def image_check_thresholds(images: np.ndarray) -> dict:
    """Bounds for the manifest's ``decision.image_checks``: low/high percentiles over validation images.

    Returns ``{}`` for no images (the page then shows no photo warnings).
    """
    if len(images) == 0:
        return {}
    statistics = image_statistics(images)
    percentile = {"min": LOW_PERCENTILE, "max": HIGH_PERCENTILE}
    bounds = {
        name: {side: float(np.percentile(statistics[name], percentile[side])) for side in sides}
        for name, sides in CHECKED_SIDES.items()
    }
    return {
        "bounds": bounds,
        "rule": f"a statistic of the 75x100 model input below the {LOW_PERCENTILE}th or above the "
        f"{HIGH_PERCENTILE}th percentile of {len(images)} validation images is flagged; computed on the "
        f"central ellipse less any near-black border (grey below {BORDER_GREY:g}, connected to the edge)",
        "validation_images": len(images),
    }


def flags(images: np.ndarray, thresholds: dict) -> dict[str, np.ndarray]:
    """Per-image booleans for each failed bound, keyed ``"<statistic>:<min|max>"``."""
    statistics = image_statistics(images)
    result = {}
    for name, bounds in thresholds.get("bounds", {}).items():
        if "min" in bounds:
            result[f"{name}:min"] = statistics[name] < bounds["min"]
        if "max" in bounds:
            result[f"{name}:max"] = statistics[name] > bounds["max"]
    return result


def flagged(images: np.ndarray, thresholds: dict) -> np.ndarray:
    """Per-image boolean: at least one check failed."""
    failed = list(flags(images, thresholds).values())
    return np.any(failed, axis=0) if failed else np.zeros(len(image_statistics(images)["brightness"]), bool)
