"""Who and what a training set holds, from its metadata CSV: the facts the model card reports."""

from __future__ import annotations

import csv
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from trainer.datasets import DatasetError

UNKNOWN = "unknown"
AGE_BANDS: tuple[tuple[str, float], ...] = (
    ("under 30", 30),
    ("30 to 49", 50),
    ("50 to 69", 70),
    ("70 and over", float("inf")),
)
HAM_REQUIRED = ("lesion_id", "image_id", "dx")
MILK_REQUIRED = ("lesion_id", "image_type", "isic_id")


def distribution(values: Iterable[str]) -> dict[str, dict]:
    """``{value: {"n": count, "share": fraction}}``, most frequent first; empty values count as "unknown"."""
    counts = Counter(value.strip() or UNKNOWN for value in values)
    total = sum(counts.values())
    return {value: {"n": n, "share": n / total} for value, n in counts.most_common()}


def age_summary(values: Iterable[str]) -> dict:
    """Median and quartiles of the recorded ages, the count without one, and age bands."""
    texts = list(values)
    ages = [float(text) for text in texts if text.strip()]
    summary: dict = {"recorded": len(ages), "missing": len(texts) - len(ages)}
    if len(ages) >= 2:
        q1, median, q3 = statistics.quantiles(ages, n=4, method="inclusive")
        summary.update(median=median, q1=q1, q3=q3)
    summary["bands"] = distribution(next(name for name, upper in AGE_BANDS if age < upper) for age in ages)
    return summary


def _read_rows(csv_path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    if not csv_path.is_file():
        raise DatasetError(f"{csv_path} not found")
    with csv_path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise DatasetError(f"{csv_path} lacks the column(s) {', '.join(missing)}")
        rows = list(reader)
    if not rows:
        raise DatasetError(f"{csv_path} has no rows")
    return rows


def _optional(rows: list[dict[str, str]], summary: dict, columns: dict[str, str]) -> dict:
    """Add the distribution (or, for age columns, the age summary) of each column the CSV has."""
    for column, key in columns.items():
        if column in rows[0]:
            values = (r[column].replace("_", " ") if key == "body_site" else r[column] for r in rows)
            summary[key] = age_summary(values) if key == "age" else distribution(values)
    return summary


@dataclass(frozen=True)
class MetadataLayout:
    """How to summarise one dataset's metadata CSV: its name, the columns it must have, the column whose
    distribution comes first, and the optional columns -> summary keys (age columns get an age summary)."""

    dataset: str
    required: tuple[str, ...]
    leading: tuple[str, str]  # (column, summary key)
    optional: dict[str, str]


HAM_LAYOUT = MetadataLayout(
    "HAM10000",
    HAM_REQUIRED,
    ("dx", "diagnosis"),
    {"dx_type": "confirmed_by", "sex": "sex", "age": "age", "localization": "body_site", "dataset": "source"},
)
MILK_LAYOUT = MetadataLayout(
    "MILK10k",
    MILK_REQUIRED,
    ("image_type", "image_type"),
    {
        "sex": "sex",
        "age_approx": "age",
        "site": "body_site",
        "skin_tone_class": "skin_tone_class",
        "copyright_license": "licence",
        "attribution": "attribution",
    },
)


def summarise_metadata(csv_path: str | Path, layout: MetadataLayout) -> dict:
    """Images, lesions, the leading column's distribution and each optional column's, for a metadata CSV."""
    rows = _read_rows(Path(csv_path), layout.required)
    column, key = layout.leading
    summary = {
        "dataset": layout.dataset,
        "images": len(rows),
        "lesions": len({r["lesion_id"] for r in rows}),
        key: distribution(r[column] for r in rows),
    }
    return _optional(rows, summary, layout.optional)


def summarise_ham_metadata(csv_path: str | Path) -> dict:
    """Images, lesions, diagnoses and how they were confirmed, sex, age, body site and source of a HAM10000 CSV."""
    return summarise_metadata(csv_path, HAM_LAYOUT)


def summarise_milk_metadata(csv_path: str | Path) -> dict:
    """Images, lesions, image types, sex, age, body site, labelled skin tone and licences of a MILK10k CSV."""
    return summarise_metadata(csv_path, MILK_LAYOUT)
