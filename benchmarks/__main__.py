"""``python -m benchmarks``: measure everything and write docs/benchmarks.md."""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from benchmarks import browser as bench
from benchmarks.chromium import launch_chromium
from benchmarks.load import SERVER_WORKERS, load_test, model_paths, wrk_missing
from benchmarks.model_files import download_bytes
from benchmarks.photos import lesion_like, write_rgb
from benchmarks.report import keep_other_sections, machine_conditions, render
from benchmarks.seed_model import export_seed_cnn
from benchmarks.training import read_run
from webapp.config import Settings
from webapp.local_server import run_server

REPO_ROOT = Path(__file__).resolve().parent.parent


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--model", type=Path, default=REPO_ROOT / "model_artifacts", help="the shipped model folder")
    parser.add_argument("--previous", type=Path, help="the previously shipped model folder, measured side by side")
    parser.add_argument("--runs", type=Path, nargs="*", default=[], help="finished `trainer build` folders")
    parser.add_argument("--rounds", type=int, default=3, help="browser rounds (default: 3)")
    parser.add_argument("--iterations", type=int, default=30, help="timed inferences per backend and round")
    parser.add_argument("--budget-s", type=float, default=5.0, help="time bound of the timed inferences")
    parser.add_argument("--load-seconds", type=int, default=10, help="duration of each wrk run (default: 10)")
    parser.add_argument("--load-runs", type=int, default=3, help="number of wrk runs (default: 3)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (default: 64)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "benchmarks.md", help="the report")
    return parser.parse_args()


def measure_browser(models: list[bench.ModelUnderTest], photos: dict[str, Path], args) -> tuple[dict, str]:
    """Rounds over all models (alternating their order); returns the results and the browser version."""
    from playwright.sync_api import sync_playwright

    results: dict[str, list[bench.RoundResult]] = {m.label: [] for m in models}
    with ExitStack() as stack:
        for model in models:
            model.base_url = stack.enter_context(run_server({"LESION_MODEL_DIR": str(model.folder)}))
        playwright = stack.enter_context(sync_playwright())
        browser = launch_chromium(playwright)
        for round_number in range(args.rounds):
            for model in models if round_number % 2 == 0 else models[::-1]:
                print(f"round {round_number + 1}/{args.rounds}: {model.label}", flush=True)
                round_result = bench.measure_round(browser, model, photos, args.iterations, args.budget_s * 1000)
                results[model.label].append(round_result)
        version = browser.version
        browser.close()
    return results, version


def main() -> None:
    args = parse_args()
    if not (args.model / "model.json").is_file():
        sys.exit(f"{args.model} has no model.json: pass --model <an exported model folder>")
    load_skipped = wrk_missing()
    if load_skipped:
        print(f"load test skipped: {load_skipped}", flush=True)
    started = time.monotonic()
    conditions_start = machine_conditions()
    with tempfile.TemporaryDirectory(prefix="lesion-bench-") as scratch:
        folder = Path(scratch)
        seed = export_seed_cnn(folder / "seed-cnn")
        photos = {
            "600×450 JPEG (HAM10000 size)": write_rgb(folder / "small.jpg", lesion_like(450, 600, seed=1)),
            "4032×3024 JPEG (12 MP phone photo)": write_rgb(folder / "phone.jpg", lesion_like(3024, 4032, seed=2)),
        }
        previous = [bench.ModelUnderTest("previous", args.previous)] if args.previous else []
        models = [bench.ModelUnderTest("shipped", args.model), *previous, bench.ModelUnderTest("baseline CNN", seed)]
        results, browser_version = measure_browser(models, photos, args)
        sizes = {m.label: download_bytes(m.folder) for m in models}
    load_runs = []
    if not load_skipped:
        print("load test", flush=True)
        load_runs = load_test(args.model, args.load_seconds, args.connections, args.load_runs)
    training, skipped = [], []
    for run in args.runs:
        try:
            training.append(read_run(run))
        except (OSError, ValueError, KeyError):
            skipped.append(run)
    context = {
        "command": shlex.join(["python", "-m", "benchmarks", *sys.argv[1:]]),
        "seconds": time.monotonic() - started,
        "conditions_start": conditions_start,
        "conditions_end": machine_conditions(),
        "browser": f"Chromium {browser_version}",
        "tfjs": Settings().npm_version("@tensorflow/tfjs"),
        "rounds": args.rounds,
        "iterations": args.iterations,
        "model": args.model,
        "previous": args.previous,
        "labels": [m.label for m in models],
        "browser_results": results,
        "sizes": sizes,
        "training": training,
        "skipped_runs": skipped,
        "load": {
            "connections": args.connections,
            "seconds": args.load_seconds,
            "workers": SERVER_WORKERS,
            "paths": model_paths(args.model),
            "runs": load_runs,
            "skipped": load_skipped,
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    existing = args.out.read_text() if args.out.is_file() else ""
    args.out.write_text(keep_other_sections(render(context), existing))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
