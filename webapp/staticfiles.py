"""Static mounts: the page's own files, the model folder and TensorFlow.js from node_modules.

URLs whose content cannot change are cached for a year as immutable: the model under
``/model/v/<version>/`` (version = a prefix of the manifest's sha256, which lists every file's
sha256) and the npm packages under ``/vendor/<package>@<npm version>/``. Everything else,
including the same files at their plain URLs, revalidates with its ETag on every use.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI, HTTPException
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

from webapp.config import Settings
from webapp.manifest import manifest_version

logger = logging.getLogger(__name__)

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# URL name under /vendor/ -> npm package whose dist/ folder it serves.
VENDOR_PACKAGES = {"tfjs": "@tensorflow/tfjs", "tfjs-backend-wasm": "@tensorflow/tfjs-backend-wasm"}


class CachedStaticFiles(StaticFiles):
    """StaticFiles (GET/HEAD only, ETag, no symlinks out of the folder) with a Cache-Control policy.

    The directory may not exist yet, e.g. before a model is exported: it answers 404 until the
    directory appears, where Starlette would answer 500.
    """

    def __init__(self, directory: Path, cache_control: str) -> None:
        super().__init__(directory=directory, check_dir=False)
        self.cache_control = cache_control

    async def check_config(self) -> None:
        """Starlette's one-off directory check, skipped while the directory is missing."""
        if Path(self.directory).is_dir():
            await super().check_config()

    def file_response(
        self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        """Starlette's response (200, or 304 when the ETag matches) with this mount's Cache-Control."""
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = self.cache_control
        return response


class VersionedModelFiles(CachedStaticFiles):
    """The model folder at ``<version>/<file>``, immutable, answered only while that version is installed.

    A browser holding an older manifest gets 404 rather than new files cached under an old URL.
    """

    def __init__(self, directory: Path) -> None:
        super().__init__(directory, IMMUTABLE)

    async def get_response(self, path: str, scope: Scope) -> Response:
        """Serve ``path`` minus its version segment if that segment names the installed model."""
        version, _, rest = path.partition(os.sep)
        installed = await anyio.to_thread.run_sync(manifest_version, Path(self.directory))
        if not rest or installed is None or version != installed:
            raise HTTPException(status_code=404)
        return await super().get_response(rest, scope)


def vendor_prefixes(settings: Settings) -> dict[str, str]:
    """URL prefix of each vendored package: versioned (immutable) when its version is known."""
    prefixes = {}
    for name, package in VENDOR_PACKAGES.items():
        version = settings.npm_version(package)
        prefixes[name] = f"/vendor/{name}@{version}" if version else f"/vendor/{name}"
    return prefixes


def static_mounts(settings: Settings) -> list[tuple[str, str, CachedStaticFiles]]:
    """(URL prefix, route name, app) for every static mount, more specific prefixes first."""
    mounts = [
        ("/static", "static", CachedStaticFiles(settings.static_dir, REVALIDATE)),
        ("/model/v", "model-versioned", VersionedModelFiles(settings.model_dir)),
        ("/model", "model", CachedStaticFiles(settings.model_dir, REVALIDATE)),
    ]
    versioned = vendor_prefixes(settings)
    for name, package in VENDOR_PACKAGES.items():
        dist = settings.npm_package(package) / "dist"
        mounts.append((f"/vendor/{name}", f"vendor-{name}", CachedStaticFiles(dist, REVALIDATE)))
        if versioned[name] != f"/vendor/{name}":
            mounts.append((versioned[name], f"vendor-{name}-versioned", CachedStaticFiles(dist, IMMUTABLE)))
    return mounts


def mount_static(app: FastAPI, settings: Settings) -> None:
    """Mount every static directory, warning about those that do not exist (yet)."""
    for prefix, name, files in static_mounts(settings):
        if not Path(files.directory).is_dir():
            logger.warning("%s is not a directory; %s answers 404 until it exists", files.directory, prefix)
        app.mount(prefix, files, name=name)
