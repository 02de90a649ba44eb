"""The files of an exported model that a browser downloads."""

from __future__ import annotations

import json
from pathlib import Path


def model_files(folder: Path) -> list[str]:
    """model.json and the weight shards it names, relative to ``folder``."""
    model_json = json.loads((folder / "model.json").read_text())
    return ["model.json", *(path for group in model_json["weightsManifest"] for path in group["paths"])]


def download_bytes(folder: Path) -> int:
    """Bytes on disk of everything the page downloads for the model."""
    return sum((folder / name).stat().st_size for name in model_files(folder))
