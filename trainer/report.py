"""The evaluation report: PNG plots with matplotlib, ``metrics.json`` and an offline ``report.html``."""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import ConfusionMatrixDisplay, RocCurveDisplay

from trainer.info import CLASS_CODES, NUM_CLASSES
from trainer.metrics import reliability_bins
from trainer.model_card import with_interval

REPORT_FOLDER = "report"


def plot_training_curves(history: dict[str, list[float]], path: Path) -> None:
    """Train/validation accuracy and loss per epoch (as the seed tracked), plus validation BMCA."""
    fig, (acc_ax, loss_ax) = plt.subplots(1, 2, figsize=(11, 4))
    epochs = np.arange(1, len(history.get("loss", [])) + 1)
    for key, label in (
        ("accuracy", "train accuracy"),
        ("val_accuracy", "validation accuracy"),
        ("val_balanced_accuracy", "validation balanced accuracy"),
    ):
        if key in history:
            acc_ax.plot(epochs, history[key], marker="o", label=label)
    for key, label in (("loss", "train loss"), ("val_loss", "validation loss")):
        if key in history:
            loss_ax.plot(epochs, history[key], marker="o", label=label)
    for ax, title in ((acc_ax, "Accuracy"), (loss_ax, "Loss")):
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_confusion_matrix(labels: np.ndarray, probabilities: np.ndarray, path: Path) -> None:
    """Row-normalised 7x7 confusion matrix (each row sums to the class's recall distribution)."""
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    ConfusionMatrixDisplay.from_predictions(
        labels,
        probabilities.argmax(axis=1),
        labels=list(range(NUM_CLASSES)),
        display_labels=CLASS_CODES,
        normalize="true",
        values_format=".2f",
        cmap="Blues",
        ax=ax,
        colorbar=False,
    )
    ax.set_title("Confusion matrix (rows: true class, normalised)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_roc_curves(labels: np.ndarray, probabilities: np.ndarray, path: Path) -> None:
    """One-vs-rest ROC curve per class."""
    fig, ax = plt.subplots(figsize=(6, 6))
    for i, code in enumerate(CLASS_CODES):
        truth = labels == i
        if 0 < truth.sum() < truth.size:
            RocCurveDisplay.from_predictions(truth, probabilities[:, i], name=code, ax=ax)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    ax.set_title("ROC curves, one class vs rest")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_reliability(labels: np.ndarray, before: np.ndarray, after: np.ndarray, path: Path) -> None:
    """Reliability diagram of top-class confidence, before and after temperature scaling."""
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfect calibration")
    for probabilities, label, marker in ((before, "uncalibrated", "s"), (after, "temperature-scaled", "o")):
        bins = reliability_bins(labels, probabilities)
        points = [(c, a) for c, a in zip(bins["confidence"], bins["accuracy"]) if c is not None]
        if points:
            ax.plot(*zip(*points), marker=marker, label=label)
    ax.set_xlabel("confidence (top-class probability)")
    ax.set_ylabel("accuracy")
    ax.set_title("Reliability diagram")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


PLOTS = {
    "training_curves.png": "Training curves",
    "confusion_matrix.png": "Confusion matrix",
    "roc_curves.png": "ROC curves",
    "reliability.png": "Reliability diagram",
}


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}" if isinstance(value, float) else html.escape(str(value))


def _cell(metrics: dict, key: str) -> str:
    """A table cell: a count as it is, a metric with its 95% interval where ``metrics`` has one."""
    value = metrics.get(key) if key == "n" else with_interval(metrics, key)
    return f"<td>{_fmt(value)}</td>"


def render_html(metrics: dict, path: Path) -> None:
    """A self-contained HTML page (relative image links, no scripts) that opens offline."""
    test = metrics["test"]
    headline = "".join(
        f"<tr><th>{html.escape(k)}</th>{_cell(test, k)}</tr>"
        for k in ("n", "accuracy", "balanced_accuracy", "macro_auc", "baseline_roc_auc", "mel_recall", "ece")
    )
    groups = _group_rows(metrics)
    per_class = "".join(
        f"<tr><th>{code}</th>"
        + "".join(f"<td>{_fmt(row[k])}</td>" for k in ("recall", "precision", "specificity", "auc", "support"))
        + "</tr>"
        for code, row in test["per_class"].items()
    )
    plots = "".join(
        f'<figure><img src="{name}" alt="{title}"><figcaption>{title}</figcaption></figure>'
        for name, title in PLOTS.items()
        if (path.parent / name).is_file()
    )
    calibration = metrics.get("calibration", {})
    split = metrics.get("split", {})
    split_rows = "".join(
        f"<tr><th>{part}</th>"
        + "".join(f"<td>{n}</td>" for n in counts.values())
        + f"<td>{sum(counts.values())}</td></tr>"
        for part, counts in split.get("counts", {}).items()
    )
    intervals = (
        f";\nin brackets, 95% intervals over bootstrap resamples of the test {test['intervals'].get('unit', 'image')}s"
        if "intervals" in test
        else ""
    )
    per_class_header = "".join(f"<th>{k}</th>" for k in ("recall", "precision", "specificity", "AUC", "support"))
    split_header = "".join(f"<th>{c}</th>" for c in CLASS_CODES)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Skin-lesion model evaluation</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:right}}
img{{max-width:100%}}figure{{margin:1em 0}}</style></head><body>
<h1>Evaluation report: {html.escape(metrics.get("architecture", ""))}</h1>
<p>Held-out test split: {html.escape(split.get("note", ""))} (seed {split.get("seed", "")}).
Numbers below are on that test split, after temperature scaling (T = {_fmt(calibration.get("temperature"))}){intervals}.
ECE before scaling: {_fmt(calibration.get("test_ece_before"))}, after: {_fmt(calibration.get("test_ece_after"))}.</p>
<h2>Headline</h2><table>{headline}</table>
<h2>Per class</h2><table><tr><th>class</th>{per_class_header}</tr>{per_class}</table>
<h2>By image type, skin tone and held-out source</h2>
<table><tr><th>group</th><th>n</th><th>balanced accuracy</th><th>macro AUC</th><th>melanoma recall</th><th>ECE</th></tr>
{groups}</table>
<h2>Split (images per class)</h2><table><tr><th></th>{split_header}<th>total</th></tr>{split_rows}</table>
<h2>Plots</h2>{plots}
<p>All figures come from <code>metrics.json</code> beside this page.</p>
</body></html>
"""
    path.write_text(page)


def _group_rows(metrics: dict) -> str:
    named = [
        (f"test, {kind.replace('_', ' ')} {value}", group)
        for kind, groups in metrics.get("test_groups", {}).items()
        for value, group in groups.items()
    ]
    if "cross_source" in metrics:
        named.append((f"held-out source {metrics['cross_source'].get('source')}", metrics["cross_source"]))
    return "".join(
        f"<tr><th>{html.escape(name)}</th><td>{group['n']}</td>{_cell(group, 'balanced_accuracy')}"
        f"{_cell(group, 'macro_auc')}{_cell(group, 'mel_recall')}<td>{_fmt(group['ece'])}</td></tr>"
        for name, group in named
    )


def write_report(
    folder: Path, metrics: dict, labels: np.ndarray, uncalibrated: np.ndarray, probabilities: np.ndarray
) -> Path:
    """Plots, ``metrics.json`` and ``report.html`` in ``folder/report``; returns that folder."""
    from trainer.export import write_json

    report = folder / REPORT_FOLDER
    report.mkdir()
    plot_training_curves(metrics.get("history", {}), report / "training_curves.png")
    plot_confusion_matrix(labels, probabilities, report / "confusion_matrix.png")
    plot_roc_curves(labels, probabilities, report / "roc_curves.png")
    plot_reliability(labels, uncalibrated, probabilities, report / "reliability.png")
    write_json(report / "metrics.json", metrics)
    render_html(metrics, report / "report.html")
    return report
