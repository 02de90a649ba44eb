"""Reading the model manifest written by the trainer (model_dir/manifest.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MANIFEST_NAME = "manifest.json"


class ManifestUnavailable(RuntimeError):
    """The manifest is missing or unreadable: no model is installed."""


def read_manifest(model_dir: Path) -> dict[str, Any]:
    """Parse the manifest afresh, so that a newly exported model shows without a restart."""
    path = model_dir / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ManifestUnavailable(f"cannot read {path}: {err}") from err
    if not isinstance(manifest, dict) or not isinstance(manifest.get("classes"), list):
        raise ManifestUnavailable(f"{path} has no 'classes' list")
    return manifest
