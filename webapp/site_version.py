"""The site version the service worker caches by (``X-Site-Version`` and the pages' meta tag).

It names everything the worker stores: the app's own files (static/, templates/ and the TF.js
package versions), hashed once at start-up, since they only change with a new deployment, and
the model manifest (which lists every model file's sha256), read on each request, since a new
model may be exported into the model folder while the server runs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from webapp.config import Settings
from webapp.manifest import VERSION_LENGTH, manifest_version


def app_digest(settings: Settings) -> str:
    """sha256 of the app's files: static/, templates/ and the TF.js packages' package.json."""
    digest = hashlib.sha256()
    files = [p for folder in (settings.static_dir, settings.templates_dir) for p in sorted(folder.rglob("*"))]
    files += [settings.tfjs_dist.parent / "package.json", settings.tfjs_wasm_dist.parent / "package.json"]
    for path in files:
        if path.is_dir():
            continue
        digest.update(path.as_posix().encode())
        digest.update(path.read_bytes() if path.is_file() else b"-")
    return digest.hexdigest()


class SiteVersion:
    """The app's digest, taken when the server starts, combined with the installed model's version."""

    def __init__(self, settings: Settings) -> None:
        self.app = app_digest(settings)
        self.model_dir: Path = settings.model_dir

    def current(self) -> str:
        """The version now: it changes when a new model is installed."""
        model = manifest_version(self.model_dir) or "no-model"
        return hashlib.sha256(f"{self.app}:{model}".encode()).hexdigest()[:VERSION_LENGTH]
