"""Skin tone by the Individual Typology Angle (trainer.skin_tone)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trainer.skin_tone import BORDER, ita_group, ita_per_image, skin_tone_summary


def srgb_to_lab(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    """CIELAB (D65) of an 8-bit sRGB colour, by the textbook formulas (an independent reference)."""
    linear = [((c / 255 + 0.055) / 1.055) ** 2.4 if c / 255 > 0.04045 else c / 255 / 12.92 for c in rgb]
    matrix = [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
    x, y, z = (sum(m * c for m, c in zip(row, linear)) for row in matrix)
    f = [t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116 for t in (x / 0.95047, y, z / 1.08883)]
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def photo(skin: tuple[int, int, int], lesion: tuple[int, int, int] = (60, 30, 20)) -> np.ndarray:
    image = np.empty((75, 100, 3), np.uint8)
    image[:] = skin
    image[BORDER + 2 : -BORDER - 2, BORDER + 2 : -BORDER - 2] = lesion
    return image


@pytest.mark.parametrize("skin", [(236, 208, 190), (198, 150, 120), (141, 85, 60), (80, 50, 35)])
def test_ita_of_the_border_skin_matches_the_formula(skin):
    lightness, _, yellow = srgb_to_lab(skin)
    expected = math.degrees(math.atan2(lightness - 50, yellow))
    assert ita_per_image(photo(skin)[None])[0] == pytest.approx(expected, abs=0.5)


def test_lighter_skin_has_a_larger_angle_and_the_lesion_does_not_count():
    light, dark = ita_per_image(np.stack([photo((236, 208, 190)), photo((120, 75, 55))]))
    assert light > 41 > dark
    assert ita_per_image(photo((236, 208, 190), lesion=(0, 0, 255))[None])[0] == pytest.approx(light)


def test_vignette_and_hair_are_left_out_and_all_dark_borders_give_nan():
    image = photo((236, 208, 190))
    hairy = image.copy()
    hairy[:, ::6] = 10  # dark hairs across the band
    hairy[:4] = 0  # a black vignette edge
    assert ita_per_image(hairy[None])[0] == pytest.approx(ita_per_image(image[None])[0], abs=0.5)
    assert np.isnan(ita_per_image(np.zeros((1, 75, 100, 3), np.uint8))[0])


def test_groups_follow_del_bino_boundaries():
    values = [60, 55, 41.5, 41, 30, 28, 10.5, 10, -29, -30, float("nan")]
    assert ita_group(values) == [
        "very light",
        "light",
        "light",
        "intermediate",
        "intermediate",
        "tan",
        "tan",
        "brown",
        "brown",
        "dark",
        "unknown",
    ]
    assert ita_group(45.0) == ["light"]


def test_bad_images_are_refused():
    with pytest.raises(ValueError, match="expected uint8 RGB images"):
        ita_per_image(np.zeros((2, 75, 100, 3), np.float32))
    with pytest.raises(ValueError, match="expected uint8 RGB images"):
        ita_per_image(np.zeros((75, 100, 3), np.uint8))
    with pytest.raises(ValueError, match="no centre inside"):
        ita_per_image(np.zeros((1, 10, 100, 3), np.uint8))


def test_summary_counts_groups_per_domain_and_checks_against_labels():
    ita = np.array([60.0, 45.0, 30.0, 20.0, 0.0, -40.0, 50.0, 50.0])
    domains = ["milk10k clinical"] * 6 + ["ham10000 dermoscopic"] * 2
    labelled = ["5", "4", "3", "2", "1", "0", "", ""]
    summary = skin_tone_summary(ita, domains, labelled)
    assert summary["groups"]["ham10000 dermoscopic"] == {"light": {"n": 2, "share": 1.0}}
    assert summary["groups"]["milk10k clinical"]["dark"] == {"n": 1, "share": 1 / 6}
    assert summary["agreement_with_labelled_tone"] == {"milk10k clinical": {"n": 6, "spearman": pytest.approx(1.0)}}
    assert "agreement_with_labelled_tone" not in skin_tone_summary(ita, domains)
