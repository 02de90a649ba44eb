"""Does the ITA of the border skin track a labelled skin tone? Numbers for docs/model-card.md.

``python -m benchmarks.skin_tone_check --data MILK10K_DIR`` computes ``trainer.skin_tone.ita_per_image`` on
every MILK10k image (preprocessed to the model input) and compares it, per image type, with the dataset's
``skin_tone_class`` label: Spearman correlation, median ITA per label, and the ITA groups.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

from trainer.milk10k import METADATA_FILE
from trainer.preprocess import preprocess_file
from trainer.skin_tone import ita_per_image, skin_tone_summary


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.skin_tone_check", description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="a MILK10k-layout folder")
    args = parser.parse_args()
    with (args.data / METADATA_FILE).open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["skin_tone_class"].strip()]
    images = np.stack(
        [np.clip(np.round(preprocess_file(args.data / "images" / f"{r['isic_id']}.jpg")), 0, 255) for r in rows]
    ).astype(np.uint8)
    ita = ita_per_image(images)
    types = [r["image_type"] for r in rows]
    tones = [r["skin_tone_class"] for r in rows]
    summary = skin_tone_summary(ita, types, tones)
    summary["median_ita_by_label"] = {
        kind: {
            tone: float(np.nanmedian(ita[[t == kind and s == tone for t, s in zip(types, tones)]]))
            for tone in sorted(set(tones))
        }
        for kind in sorted(set(types))
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
