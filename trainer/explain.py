"""Where the model looked: occlusion sensitivity (Zeiler & Fergus, ECCV 2014) for the top class.

The browser's twin is ``static/js/saliency.js``; both compute, for one preprocessed input:

1. ``p``: the probability of the explained class (by default the top class) for the input;
2. one occluded copy per map cell (the input is cut into CELL x CELL pixel cells, 15 x 20 of them):
   a PATCH x PATCH square centred on the cell, clipped to the image, is filled with the input's mean
   colour (per channel), which stays skin-like instead of adding black edges the model may react to;
3. the cell's value: how much covering it lowered the class probability, ``max(0, p - p_occluded)``,
   divided by ``max(largest drop, MIN_DROP)``: 1 marks the most important area, and a photo where no
   patch moves the probability by MIN_DROP gets a faint map rather than amplified noise.

Only the model's first output (class probabilities) is used, so models with further outputs work too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from trainer.preprocess import CHANNELS, INPUT_HEIGHT, INPUT_WIDTH

if TYPE_CHECKING:
    from trainer.keras_backend import keras

CELL = 5  # map cell side in input pixels: 75 x 100 -> 15 x 20 cells
PATCH = 15  # occluding square side in input pixels, centred on its cell
MIN_DROP = 0.02  # probability drop that counts as a full-strength map value at least
BATCH = 50  # occluded copies per model call

Predict = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class SaliencyMap:
    """An occlusion map: ``grid`` (rows, cols) in 0..1, top-left first, for class ``class_index``."""

    grid: np.ndarray
    class_index: int
    probability: float  # of the explained class, unoccluded
    largest_drop: float  # before normalisation


def grid_shape(height: int = INPUT_HEIGHT, width: int = INPUT_WIDTH, cell: int = CELL) -> tuple[int, int]:
    """Rows and columns of the map for an input size; the input must tile into whole cells."""
    if height % cell or width % cell:
        raise ValueError(f"a {height}x{width} input does not tile into {cell}x{cell} cells")
    return height // cell, width // cell


def occlusion_masks(height: int = INPUT_HEIGHT, width: int = INPUT_WIDTH, cell: int = CELL, patch: int = PATCH):
    """Boolean (rows * cols, height, width): True where each cell's occluding square covers the input."""
    rows, cols = grid_shape(height, width, cell)
    margin = (patch - cell) // 2
    masks = np.zeros((rows * cols, height, width), dtype=bool)
    for i in range(rows):
        for j in range(cols):
            top, left = max(0, i * cell - margin), max(0, j * cell - margin)
            masks[i * cols + j, top : i * cell - margin + patch, left : j * cell - margin + patch] = True
    return masks


def first_output(model: keras.Model) -> Predict:
    """Batch probabilities from a Keras model's first output (models may add e.g. an OOD score)."""

    def predict(batch: np.ndarray) -> np.ndarray:
        outputs = model(batch.astype(np.float32), training=False)
        return np.asarray(outputs[0] if isinstance(outputs, list | tuple) else outputs)

    return predict


def occlusion_map(predict: Predict, image: np.ndarray, class_index: int | None = None) -> SaliencyMap:
    """The occlusion map of one preprocessed float32 (75, 100, 3) input for ``class_index`` (default: top)."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 3 or image.shape[2] != CHANNELS:
        raise ValueError(f"expected one (height, width, {CHANNELS}) input, got shape {image.shape}")
    probabilities = predict(image[None])[0]
    if class_index is None:
        class_index = int(np.argmax(probabilities))
    if not 0 <= class_index < len(probabilities):
        raise ValueError(f"class index {class_index} outside the model's {len(probabilities)} classes")
    height, width = image.shape[:2]
    rows, cols = grid_shape(height, width)
    masks = occlusion_masks(height, width)[..., None]
    fill = image.mean(axis=(0, 1), dtype=np.float64).astype(np.float32)
    scores = []
    for start in range(0, len(masks), BATCH):
        batch = np.where(masks[start : start + BATCH], fill, image)
        scores.append(predict(batch)[:, class_index])
    p = float(probabilities[class_index])
    drops = np.maximum(0.0, p - np.concatenate(scores)).reshape(rows, cols)
    largest = float(drops.max())
    return SaliencyMap((drops / max(largest, MIN_DROP)).astype(np.float32), class_index, p, largest)


def overlay(image: np.ndarray, grid: np.ndarray, scale: int = 4, opacity: float = 200 / 255) -> np.ndarray:
    """An RGB uint8 picture of the input, enlarged ``scale`` times, with the map drawn as the page draws it:
    yellow to red, more opaque the higher the value."""
    import cv2

    height, width = image.shape[0] * scale, image.shape[1] * scale
    base = cv2.resize(np.clip(image, 0, 255).astype(np.float32), (width, height), interpolation=cv2.INTER_NEAREST)
    heat = cv2.resize(grid.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)[..., None]
    colour = np.concatenate([np.full_like(heat, 255), 230 * (1 - heat), np.zeros_like(heat)], axis=-1)
    alpha = opacity * heat
    return np.round(base * (1 - alpha) + colour * alpha).astype(np.uint8)
