"""Small summaries of repeated measurements."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear interpolation."""
    return float(np.percentile(np.asarray(values, dtype=float), q))


def spread(values: Sequence[float]) -> tuple[float, float, float]:
    """(min, median, max) of the values."""
    array = np.asarray(values, dtype=float)
    return float(array.min()), float(np.median(array)), float(array.max())
