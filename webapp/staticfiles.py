"""Static mounts: the page's own files, the model directory and TensorFlow.js from node_modules."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from webapp.config import Settings

logger = logging.getLogger(__name__)


class OptionalStaticFiles(StaticFiles):
    """StaticFiles (GET/HEAD only) whose directory may not exist yet, e.g. before a model is
    exported: it answers 404 until the directory appears, where Starlette would answer 500."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory, check_dir=False)

    async def check_config(self) -> None:
        """Starlette's one-off directory check, skipped while the directory is missing."""
        if Path(self.directory).is_dir():
            await super().check_config()


def static_mounts(settings: Settings) -> dict[str, tuple[str, Path]]:
    """URL prefix -> (route name, directory) for every static mount."""
    return {
        "/static": ("static", settings.static_dir),
        "/model": ("model", settings.model_dir),
        "/vendor/tfjs": ("vendor-tfjs", settings.tfjs_dist),
        "/vendor/tfjs-backend-wasm": ("vendor-tfjs-backend-wasm", settings.tfjs_wasm_dist),
    }


def mount_static(app: FastAPI, settings: Settings) -> None:
    """Mount every static directory, warning about those that do not exist (yet)."""
    for prefix, (name, directory) in static_mounts(settings).items():
        if not directory.is_dir():
            logger.warning("%s is not a directory; %s answers 404 until it exists", directory, prefix)
        app.mount(prefix, OptionalStaticFiles(directory), name=name)
