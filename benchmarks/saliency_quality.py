"""How much of each saliency map falls on the lesion, on validation images (numbers for docs/saliency.md).

``python -m benchmarks.saliency_quality --model model_artifacts --data HAM10000_DIR [--images 60]
[--examples docs/saliency]`` compares occlusion sensitivity (what the page shows) with Grad-CAM on the
last feature map and on the finest stride-8 map, for the top class of validation images (the lesion-grouped
split, seed 0). Lesion region: the central ellipse, and an Otsu segmentation (see ``lesion_mask``).
The lesion share of a map is sum(map on lesion) / sum(map); the area share of the lesion is what a map
that ignored the image would score.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from trainer.explain import first_output, occlusion_map, overlay
from trainer.info import CLASS_CODES
from trainer.preprocess import INPUT_HEIGHT, INPUT_WIDTH

# Black dermatoscope vignette and the darkest hairs: never lesion, never skin (grey level).
VIGNETTE_GREY = 30


def central_ellipse(height: int = INPUT_HEIGHT, width: int = INPUT_WIDTH) -> np.ndarray:
    """Boolean mask of the ellipse inscribed in the middle half of each side (the framed spot)."""
    y, x = np.mgrid[:height, :width]
    return ((y + 0.5 - height / 2) / (height / 4)) ** 2 + ((x + 0.5 - width / 2) / (width / 4)) ** 2 <= 1


def lesion_mask(image: np.ndarray) -> np.ndarray:
    """Otsu segmentation: pigmented lesions are darker than the skin around them in dermoscopy.

    Grey levels are smoothed, the vignette excluded, Otsu's threshold splits dark from light, and the
    dark connected component overlapping the central ellipse most is the lesion (a centred spot).
    """
    grey = cv2.GaussianBlur(cv2.cvtColor(np.clip(image, 0, 255).astype(np.uint8), cv2.COLOR_RGB2GRAY), (5, 5), 0)
    valid = grey > VIGNETTE_GREY
    threshold, _ = cv2.threshold(grey[valid][None], 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    dark = (grey <= threshold) & valid
    count, labels = cv2.connectedComponents(dark.astype(np.uint8))
    centre = central_ellipse(*image.shape[:2])
    overlaps = [np.sum((labels == k) & centre) for k in range(1, count)]
    if not overlaps or max(overlaps) == 0:
        return centre
    return labels == 1 + int(np.argmax(overlaps))


def gradcam_map(model, image: np.ndarray, class_index: int, spatial: tuple[int, int]) -> np.ndarray:
    """Grad-CAM (Selvaraju et al. 2017) on the last layer whose output has ``spatial`` size, w.r.t. ``logits``."""
    from trainer.keras_backend import keras, tf

    layer = [lay for lay in model.layers if tuple(lay.output.shape[1:3]) == spatial and len(lay.output.shape) == 4][-1]
    probe = keras.Model(model.inputs, [layer.output, model.get_layer("logits").output])
    with tf.GradientTape() as tape:
        features, logits = probe(image[None].astype(np.float32), training=False)
        score = logits[0, class_index]
    gradients = tape.gradient(score, features)
    weights = tf.reduce_mean(gradients, axis=(1, 2))
    cam = tf.nn.relu(tf.reduce_sum(features * weights[:, None, None, :], axis=-1))[0].numpy()
    return cam / cam.max() if cam.max() > 0 else cam


def to_pixels(grid: np.ndarray, height: int = INPUT_HEIGHT, width: int = INPUT_WIDTH) -> np.ndarray:
    """A map resized to the input (bilinear, as the page draws it)."""
    return cv2.resize(grid.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)


def lesion_share(pixels: np.ndarray, lesion: np.ndarray) -> float:
    """Share of the map's mass on the lesion (NaN for an empty map)."""
    total = float(pixels.sum())
    return float(pixels[lesion].sum()) / total if total > 0 else float("nan")


def validation_images(data_dir: Path, count: int):
    """``count`` validation images spread over the classes (grouped split, seed 0), with ids and labels."""
    from trainer.datasets import load_ham10000
    from trainer.splits import grouped_split

    data = load_ham10000(data_dir)
    split = grouped_split(data.labels, data.groups, seed=0)
    chosen = []
    for label in range(len(CLASS_CODES)):
        chosen += [i for i in split.validation if data.labels[i] == label][: max(1, count // len(CLASS_CODES))]
    return data.images[chosen].astype(np.float32), [data.image_ids[i] for i in chosen], data.labels[chosen]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.saliency_quality", description=__doc__)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True, help="a HAM10000-layout folder")
    parser.add_argument("--images", type=int, default=70)
    parser.add_argument("--examples", type=Path, help="write overlay PNGs of one image per class here")
    args = parser.parse_args()

    from trainer.export import load_tfjs

    model = load_tfjs(args.model)
    predict = first_output(model)
    images, ids, labels = validation_images(args.data, args.images)
    feature_sizes = sorted({tuple(lay.output.shape[1:3]) for lay in model.layers if len(lay.output.shape) == 4})
    last, stride8 = feature_sizes[0], next(s for s in feature_sizes if s[0] * 8 >= INPUT_HEIGHT)
    methods = {"occlusion": None, f"grad-cam {last[0]}x{last[1]}": last, f"grad-cam {stride8[0]}x{stride8[1]}": stride8}
    shares = {name: {"ellipse": [], "otsu": []} for name in methods}
    areas = {"ellipse": [], "otsu": []}
    written = set()
    for image, image_id, label in zip(images, ids, labels):
        saliency = occlusion_map(predict, image)
        masks = {"ellipse": central_ellipse(), "otsu": lesion_mask(image)}
        for region, mask in masks.items():
            areas[region].append(float(mask.mean()))
        for name, spatial in methods.items():
            grid = saliency.grid if spatial is None else gradcam_map(model, image, saliency.class_index, spatial)
            for region, mask in masks.items():
                shares[name][region].append(lesion_share(to_pixels(grid), mask))
        if args.examples and label not in written:
            args.examples.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(
                str(args.examples / f"{CLASS_CODES[label]}-{image_id}.png"),
                cv2.cvtColor(
                    np.hstack([overlay(image, np.zeros((1, 1)), opacity=0), overlay(image, saliency.grid)]),
                    cv2.COLOR_RGB2BGR,
                ),
            )
            written.add(label)
    summary = {
        "images": len(ids),
        "lesion_area_share": {region: float(np.mean(v)) for region, v in areas.items()},
        "lesion_map_share": {
            name: {region: float(np.nanmean(v)) for region, v in regions.items()} for name, regions in shares.items()
        },
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
