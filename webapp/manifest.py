"""Reading the model manifest written by the trainer (model_dir/manifest.json)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

MANIFEST_NAME = "manifest.json"
# Hex digits of the manifest's sha256 that name a model version in /model/v/<version>/ URLs;
# static/js/model.js derives the same prefix from the manifest bytes it fetched.
VERSION_LENGTH = 16


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


def manifest_version(model_dir: Path) -> str | None:
    """The version of the installed model (a prefix of its manifest's sha256), None when there is none.

    The manifest lists the sha256 of every model file, so this names the whole model's content.
    """
    try:
        data = (model_dir / MANIFEST_NAME).read_bytes()
    except OSError:
        return None
    return hashlib.sha256(data).hexdigest()[:VERSION_LENGTH]
