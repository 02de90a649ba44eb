"""Skin tone from the healthy skin around a centred lesion: the Individual Typology Angle (ITA).

ITA = atan((L* - 50) / b*) in degrees, from CIELAB lightness L* and yellow-blue b* (Chardon et al.,
Int. J. Cosmet. Sci. 13, 1991), grouped as Del Bino & Bernerd (Br. J. Dermatol. 169, 2013) do: very
light > 55 >= light > 41 >= intermediate > 28 >= tan > 10 >= brown > -30 >= dark.

Per image, the skin is the band of BORDER pixels along the edges of the 75x100 model input (the lesion
sits in the middle of the frame); near-black pixels (a dermatoscope's vignette, dark hairs) are left out,
and the medians of L* and b* over the rest resist hairs and lesion edges that reach the band. Colours are
converted with OpenCV (sRGB, D65), already a dependency of the trainer.
"""

from __future__ import annotations

import cv2
import numpy as np

from trainer.data_summary import distribution

BORDER = 8  # pixels: width of the band along each edge that counts as healthy skin
DARK_GREY = 40  # grey level below which a band pixel is vignette or hair, not skin
MIN_SKIN_SHARE = 0.1  # of the band: fewer skin pixels and the image gets no ITA (NaN)
# Del Bino & Bernerd 2013: (group, lower ITA bound, exclusive), lightest first.
ITA_GROUPS: tuple[tuple[str, float], ...] = (
    ("very light", 55.0),
    ("light", 41.0),
    ("intermediate", 28.0),
    ("tan", 10.0),
    ("brown", -30.0),
    ("dark", -np.inf),
)
UNKNOWN = "unknown"


def border_band(height: int, width: int, border: int = BORDER) -> np.ndarray:
    """Boolean (height, width) mask of the pixels within ``border`` of an edge."""
    if height <= 2 * border or width <= 2 * border:
        raise ValueError(f"a {height}x{width} image has no centre inside a {border}-pixel border band")
    band = np.ones((height, width), dtype=bool)
    band[border:-border, border:-border] = False
    return band


def ita_per_image(images: np.ndarray) -> np.ndarray:
    """ITA in degrees of each uint8 RGB image (N, H, W, 3) from its border skin; NaN where too little skin shows."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"expected uint8 RGB images (N, height, width, 3), got {images.dtype} {images.shape}")
    band = border_band(*images.shape[1:3])
    result = np.full(len(images), np.nan)
    for i, image in enumerate(images):
        pixels = image[band][None]  # (1, band pixels, 3)
        skin = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)[0] >= DARK_GREY
        if skin.mean() < MIN_SKIN_SHARE:
            continue
        lab = cv2.cvtColor(pixels.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[0][skin]
        lightness, yellow = np.median(lab[:, 0]), np.median(lab[:, 2])
        result[i] = np.degrees(np.arctan2(lightness - 50.0, yellow))
    return result


def ita_group(ita: np.ndarray | list[float] | float) -> list[str]:
    """The Del Bino group of each ITA value (``"unknown"`` for NaN)."""
    values = np.atleast_1d(np.asarray(ita, dtype=float))
    return [next(name for name, low in ITA_GROUPS if v > low) if np.isfinite(v) else UNKNOWN for v in values]


def skin_tone_summary(ita: np.ndarray, domains: list[str], labelled: list[str] | None = None) -> dict:
    """ITA groups per domain (e.g. ``"milk10k clinical"``) and, where a skin-tone label exists (MILK10k's
    ``skin_tone_class``), the Spearman correlation of ITA with it per domain: how far ITA can be trusted there."""
    from scipy.stats import spearmanr

    ita, domains = np.asarray(ita, dtype=float), np.asarray(domains)
    groups = np.asarray(ita_group(ita))
    summary: dict = {"groups": {d: distribution(groups[domains == d]) for d in sorted(set(domains.tolist()))}}
    if labelled is not None:
        tones = np.array([float(t) if str(t).strip() else np.nan for t in labelled])
        agreement = {}
        for domain in summary["groups"]:
            keep = (domains == domain) & np.isfinite(ita) & np.isfinite(tones)
            if keep.sum() >= 3 and len(set(tones[keep])) > 1:
                agreement[domain] = {"n": int(keep.sum()), "spearman": float(spearmanr(ita[keep], tones[keep])[0])}
        summary["agreement_with_labelled_tone"] = agreement
    return summary
