"""What the "where the model looked" map costs in the browser, next to a prediction.

``python -m benchmarks.saliency_cost --model model_artifacts [--photo PHOTO] [--maps 20] [--out docs/benchmarks.md]``
opens the real page in headless Chromium on the wasm backend, chooses a photo, then re-analyses the same
frame ``--maps`` times. Per round it reads the prediction time (frame button to result shown,
``lesionApp.lastTiming``), the map's time after that (``canvas#saliency`` data-ms: first batch to drawn)
and ``tf.memory().numTensors`` once the map is drawn. With ``--out`` it replaces the section
"Where the model looked: cost" of that Markdown file (or appends it).
"""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

from benchmarks.chromium import launch_chromium
from benchmarks.photos import lesion_like, write_rgb
from benchmarks.report import fmt, machine_conditions
from webapp.local_server import run_server

TITLE = "## Where the model looked: cost"
TIMEOUT_MS = 300_000


def measure(model: Path, photo: Path, maps: int) -> dict:
    """Prediction and map times (ms) and tensor counts over ``maps`` re-analyses of one photo."""
    from playwright.sync_api import sync_playwright

    with run_server({"LESION_MODEL_DIR": str(model)}) as base_url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page()
        page.goto(f"{base_url}/?backend=wasm")
        page.wait_for_selector("body[data-model-state=ready]", timeout=TIMEOUT_MS)
        page.set_input_files("#image-input", str(photo))
        page.wait_for_selector("#saliency[data-state=done]", state="attached", timeout=TIMEOUT_MS)
        rounds = []
        for _ in range(maps):
            page.click("#frame-analyse")
            page.wait_for_selector("#saliency[data-state=done]", state="attached", timeout=TIMEOUT_MS)
            rounds.append(
                page.evaluate(
                    """() => ({
                        predictMs: window.lesionApp.lastTiming.totalMs,
                        mapMs: Number(document.getElementById('saliency').dataset.ms),
                        tensors: tf.memory().numTensors,
                        backend: tf.getBackend(),
                    })"""
                )
            )
        result = {"browser": browser.version, "rounds": rounds}
        browser.close()
    return result


def section(result: dict, photo_name: str) -> str:
    """The Markdown section for docs/benchmarks.md."""
    rounds = result["rounds"]
    tensors = [r["tensors"] for r in rounds]
    conditions = machine_conditions()
    return "\n".join(
        [
            TITLE,
            "",
            f"`python -m benchmarks.saliency_cost`: headless Chromium {result['browser']}, TF.js "
            f"{rounds[0]['backend']} backend, {len(rounds)} re-analyses of one photo ({photo_name}); "
            f"{conditions['cpu']}, load {conditions['load']}, {conditions['builds']} trainer builds running.",
            "",
            "| figure | median (min–max) |",
            "|---|---|",
            f"| prediction: frame button to result shown | {fmt([r['predictMs'] for r in rounds])} |",
            f"| extra, after the result: occlusion map (300 occluded copies) | {fmt([r['mapMs'] for r in rounds])} |",
            f"| `tf.memory().numTensors` after each map | {min(tensors)}–{max(tensors)} |",
            "",
            "The map starts only after the result is painted and yields to the page between batches of 10 "
            "copies, so the probabilities are never delayed; a new photo or frame abandons it. "
            + (
                "The tensor count stays flat: no tensor leaks per map."
                if len(set(tensors)) == 1
                else "The tensor count changes between maps: investigate a leak."
            ),
            "",
        ]
    )


def write_section(path: Path, text: str) -> None:
    """Replace the section in ``path`` (up to the next level-2 heading), or append it."""
    old = path.read_text() if path.is_file() else ""
    pattern = re.compile(re.escape(TITLE) + r"\n.*?(?=^## |\Z)", re.S | re.M)
    new = pattern.sub(lambda _: text + "\n", old) if pattern.search(old) else old.rstrip("\n") + "\n\n" + text
    path.write_text(new)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.saliency_cost", description=__doc__)
    parser.add_argument("--model", type=Path, required=True, help="model folder")
    parser.add_argument("--photo", type=Path, help="photo to analyse (default: a generated lesion-like photo)")
    parser.add_argument("--maps", type=int, default=20, help="re-analyses (default: 20)")
    parser.add_argument("--out", type=Path, help="Markdown file whose cost section to write")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        photo = args.photo or write_rgb(Path(folder) / "lesion.jpg", lesion_like(450, 600, 1))
        result = measure(args.model, photo, args.maps)
    text = section(result, args.photo.name if args.photo else "generated, 600x450")
    print(text)
    if args.out:
        write_section(args.out, text)


if __name__ == "__main__":
    main()
