"""docs/benchmarks.md: the measured figures as Markdown tables, with the machine and conditions."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.browser import BACKENDS, RoundResult
from benchmarks.stats import spread
from benchmarks.training import TrainingRun

TARGET_DOWNLOAD_MB = 5.0
TARGET_WASM_MS = 25.0
TARGET_FIRST_RESULT_MS = 2000.0


def machine_conditions() -> dict[str, str]:
    """CPU, memory, load average and whether trainer builds are running right now."""
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line), platform.processor())
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    memory_kb = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal"))
    builds = subprocess.run(["pgrep", "-fc", "trainer build"], capture_output=True, text=True).stdout.strip() or "0"
    return {
        "cpu": f"{cpu}, {os.cpu_count()} cores, {memory_kb / 2**20:.0f} GiB RAM",
        "load": "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg()),
        "builds": builds,
    }


def fmt(values: Sequence[float], unit: str = "ms", digits: int = 0) -> str:
    """'median (min–max) unit' of repeated measurements."""
    low, median, high = spread(values)
    return f"{median:.{digits}f} ({low:.{digits}f}–{high:.{digits}f}) {unit}".rstrip()


def mb(n: float) -> str:
    return f"{n / 1e6:.2f} MB"


def browser_table(labels: list[str], results: dict[str, list[RoundResult]], sizes: dict[str, int]) -> list[str]:
    """One row per figure, one column per model, and the ratio of the second model to the first."""
    figures: list[tuple[str, Callable[[RoundResult], float], str, int]] = [
        ("Page load → model ready, empty cache", lambda r: r.ready_ms, "ms", 0),
        ("Page load → first result (photo chosen at ready)", lambda r: r.first_result_ms, "ms", 0),
        ("Transferred on a first visit: model files", lambda r: r.transfer_model / 1e6, "MB", 2),
        ("Transferred on a first visit: everything", lambda r: r.transfer_all / 1e6, "MB", 2),
    ]
    for photo in next(iter(results.values()))[0].photo_ms:
        figures.append((f"Photo chosen → result shown, {photo}", _median_of("photo_ms", photo), "ms", 0))
    for backend in BACKENDS:
        figures.append(
            (f"Inference per photo (all its views), median, {backend}", _inference(backend, "median"), "ms", 1)
        )
        figures.append((f"Inference per photo (all its views), p95, {backend}", _inference(backend, "p95"), "ms", 1))

    first, *others = labels
    lines = ["| Figure | " + " | ".join(labels) + "".join(f" | {o} / {first}" for o in others) + " |"]
    lines.append("|---" * (1 + len(labels) + len(others)) + "|")
    lines.append(
        "| Model download (model.json + shards on disk) | "
        + " | ".join(mb(sizes[label]) for label in labels)
        + "".join(f" | {sizes[o] / sizes[first]:.1f}×" for o in others)
        + " |"
    )
    for name, get, unit, digits in figures:
        values = {label: [get(r) for r in results[label]] for label in labels}
        ratios = "".join(f" | {spread(values[o])[1] / spread(values[first])[1]:.1f}×" for o in others)
        lines.append(f"| {name} | " + " | ".join(fmt(values[lb], unit, digits) for lb in labels) + ratios + " |")
    return lines


def _median_of(attribute: str, key: str) -> Callable[[RoundResult], float]:
    return lambda r: spread(getattr(r, attribute)[key])[1]


def _inference(backend: str, statistic: str) -> Callable[[RoundResult], float]:
    return lambda r: r.inference[backend][statistic]


def training_table(runs: list[TrainingRun]) -> list[str]:
    """Per architecture, over its runs: images/s, training time, whole build time, size, accuracy."""
    by_arch: dict[str, list[TrainingRun]] = defaultdict(list)
    for run in runs:
        by_arch[run.architecture].append(run)
    lines = [
        "| Architecture | Runs | Training images/s | Training time | Whole `trainer build` | Download | Test BMCA |",
        "|---|---|---|---|---|---|---|",
    ]
    for arch, group in sorted(by_arch.items()):
        builds = [r.build_seconds for r in group if r.build_seconds is not None]
        lines.append(
            f"| {arch} | {', '.join(r.folder.name for r in group)} "
            f"| {fmt([r.images_per_second for r in group], 'img/s', 1)} "
            f"| {fmt([r.training_seconds / 60 for r in group], 'min', 1)} "
            f"| {fmt([b / 60 for b in builds], 'min', 1) if builds else 'not recorded'} "
            f"| {fmt([r.download_bytes / 1e6 for r in group], 'MB', 2)} "
            f"| {fmt([r.balanced_accuracy for r in group], '', 3)} |"
        )
    return lines


def load_table(runs: list[dict]) -> list[str]:
    """One row per wrk run, then min/median/max."""
    lines = [
        "| Run | Requests | Requests/s | MB/s | p50 latency | p99 latency | Max latency | Errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for i, run in enumerate(runs, 1):
        lines.append(
            f"| {i} | {run['requests']} | {run['requests_per_s']:.0f} | {run['mb_per_s']:.0f} "
            f"| {run['p50_us'] / 1000:.1f} ms | {run['p99_us'] / 1000:.1f} ms | {run['max_us'] / 1000:.1f} ms "
            f"| {run['errors']} |"
        )
    lines.append(
        f"| median (min–max) | | {fmt([r['requests_per_s'] for r in runs], '', 0)} "
        f"| {fmt([r['mb_per_s'] for r in runs], '', 0)} | {fmt([r['p50_us'] / 1000 for r in runs], 'ms', 1)} "
        f"| {fmt([r['p99_us'] / 1000 for r in runs], 'ms', 1)} | | {sum(r['errors'] for r in runs)} total |"
    )
    return lines


def targets_table(shipped: str, results: dict[str, list[RoundResult]], sizes: dict[str, int]) -> list[str]:
    """The issue's targets against the shipped model's medians."""
    wasm = spread([r.inference["wasm"]["median"] for r in results[shipped]])[1]
    first = spread([r.first_result_ms for r in results[shipped]])[1]
    size = sizes[shipped]
    rows = [
        (f"Model download ≤ {TARGET_DOWNLOAD_MB:.0f} MB", mb(size), size / 1e6 <= TARGET_DOWNLOAD_MB),
        (
            f"wasm inference per photo (all its views) median ≤ {TARGET_WASM_MS:.0f} ms",
            f"{wasm:.1f} ms",
            wasm <= TARGET_WASM_MS,
        ),
        (
            f"First prediction ≤ {TARGET_FIRST_RESULT_MS / 1000:.0f} s after page load",
            f"{first:.0f} ms",
            first <= TARGET_FIRST_RESULT_MS,
        ),
    ]
    return ["| Target | Measured (median) | Met |", "|---|---|---|"] + [
        f"| {target} | {value} | {'yes' if met else '**no**'} |" for target, value, met in rows
    ]


def render(context: dict) -> str:
    """The whole document; ``context`` is filled by benchmarks.__main__."""
    start, end = context["conditions_start"], context["conditions_end"]
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `{context['command']}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC "
        f"({context['seconds'] / 60:.1f} min). Regenerate with the same command.",
        "",
        "## Machine and conditions",
        "",
        f"- {start['cpu']}; {platform.platform()}; Python {platform.python_version()}.",
        f"- Browser: {context['browser']} headless, `--disable-gpu` (WebGL runs on SwiftShader, "
        f"software rendering), TF.js {context['tfjs']}; single-threaded wasm SIMD (see static/js/model.js). "
        "Every visit uses a fresh browser context (empty cache) with service workers blocked, i.e. a "
        "first visit without the offline cache.",
        f"- Load average (1/5/15 min) {start['load']} at the start, {end['load']} at the end; "
        f"`trainer build` processes running: {start['builds']} at the start, {end['builds']} at the end. "
        "Absolute figures are noisy; the models are measured in the same rounds, alternating, so "
        "the ratios hold better than the absolute values.",
        f"- Browser figures: {context['rounds']} round(s); each cell is median (min–max) over the rounds "
        "of the per-round value. Inference: one photo as the page runs it, of a type whose views the manifest's "
        "`decision.test_time_augmentation` averages: the photo, then the batch of its other views (its mirror "
        "image); a photo of another type, or a model without views, runs the photo alone, "
        f"random input, up to {context['iterations']} "
        "timed calls after 2 warm-up calls (fewer for slow backends, time-bounded), median and p95 "
        "per round. Photo → result: the page's own clock from the file input's change event to "
        "the result rendered (decode, crop, resize, inference, rendering).",
        "",
        "## Targets (shipped model)",
        "",
        *targets_table(context["labels"][0], context["browser_results"], context["sizes"]),
        "",
        "## Browser: shipped model, the previous one and the baseline CNN side by side",
        "",
        f"Shipped model: `{context['model']}`. "
        + (f"Previous model: `{context['previous']}`. " if context.get("previous") else "")
        + 'Baseline CNN: `trainer.models.build_network("baseline-cnn")` exported with float32 weights '
        "(untrained: size and speed do not depend on the weights).",
        "",
        *browser_table(context["labels"], context["browser_results"], context["sizes"]),
        "",
    ]
    if context["training"]:
        lines += [
            "## Training (read from the build folders' report/metrics.json)",
            "",
            "Images/s and training time as recorded by `trainer build` (training epochs only); the whole "
            "build (data loading, training, calibration, export and checks) from the GNU time log "
            "next to the folder where there is one. Each cell: median (min–max) over the runs of "
            "that architecture.",
            "",
            *training_table(context["training"]),
            "",
        ]
    if context["skipped_runs"]:
        lines += ["Not read (no report yet): " + ", ".join(f"`{p}`" for p in context["skipped_runs"]) + ".", ""]
    return "\n".join(lines + load_section(context["load"]))


def keep_other_sections(generated: str, existing: str) -> str:
    """``generated``, followed by the level-2 sections of ``existing`` it does not have (those other
    benchmark commands write, e.g. scaling and saliency cost)."""
    have = set(re.findall(r"^## (.+)$", generated, re.M))
    kept = [
        section
        for section in re.split(r"(?m)^(?=## )", existing)
        if section.startswith("## ") and section.splitlines()[0][3:] not in have
    ]
    return "\n".join([generated.rstrip("\n") + "\n", *(section.rstrip("\n") + "\n" for section in kept)])


def load_section(load: dict) -> list[str]:
    """The load test's section: its runs, or why it was skipped and how to enable it."""
    lines = ["## Load test (loopback only)", ""]
    if load["skipped"]:
        return [*lines, f"Not measured: {load['skipped']}.", ""]
    return [
        *lines,
        f"`wrk -t2 -c{load['connections']} -d{load['seconds']}s` × {len(load['runs'])} run(s) against "
        f"`uvicorn webapp.main:app` with {load['workers']} workers on 127.0.0.1, serving the shipped "
        "model; requests rotate over " + ", ".join(f"`{p}`" for p in load["paths"]) + " with "
        "`Accept-Encoding: gzip`. Load generator and server share the machine's cores.",
        "",
        *load_table(load["runs"]),
        "",
    ]
