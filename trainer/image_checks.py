"""Does a photo look like the dermatoscope images the model learnt from? Simple statistics of the model input.

The statistics are computed on the 75x100 RGB model input (values 0..255), which the browser reproduces
to 1e-5, so ``static/js/image-checks.js`` computes the same numbers with the same formulas:

- ``brightness``: mean grey level, grey = 0.299 R + 0.587 G + 0.114 B;
- ``colourfulness``: mean over pixels of max(R, G, B) - min(R, G, B) (0 for a black-and-white photo);
- ``skin_share``: share of pixels whose red channel is strictly above green and blue (skin, lesions and
  blood are red-dominant; sky, paper, grey and green are not);
- ``sharpness``: variance of the 4-neighbour Laplacian of grey over interior pixels (low when blurred or
  featureless, very high for noise).

The thresholds are percentiles of these statistics on validation images: a photo outside them is
rarer than almost every real lesion image, and the page says which statistic and why.
"""

from __future__ import annotations

import numpy as np

LOW_PERCENTILE = 0.5
HIGH_PERCENTILE = 99.5

# Which side(s) of each statistic's validation distribution is checked.
CHECKED_SIDES: dict[str, tuple[str, ...]] = {
    "brightness": ("min",),
    "colourfulness": ("min",),
    "skin_share": ("min",),
    "sharpness": ("min", "max"),
}


def image_statistics(images: np.ndarray) -> dict[str, np.ndarray]:
    """Per-image statistics of RGB model inputs, (N, 75, 100, 3) or one (75, 100, 3), uint8 or float."""
    x = np.asarray(images, dtype=np.float64)
    if x.ndim == 3:
        x = x[None]
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    grey = 0.299 * r + 0.587 * g + 0.114 * b
    centre = grey[:, 1:-1, 1:-1]
    laplacian = grey[:, :-2, 1:-1] + grey[:, 2:, 1:-1] + grey[:, 1:-1, :-2] + grey[:, 1:-1, 2:] - 4 * centre
    return {
        "brightness": grey.mean(axis=(1, 2)),
        "colourfulness": (x.max(axis=-1) - x.min(axis=-1)).mean(axis=(1, 2)),
        "skin_share": ((r > g) & (r > b)).mean(axis=(1, 2)),
        "sharpness": laplacian.var(axis=(1, 2)),
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
        f"{HIGH_PERCENTILE}th percentile of {len(images)} validation images is flagged",
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
