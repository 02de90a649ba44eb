"""Filesystem locations and network settings of the web app, configurable through environment variables."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

MODEL_DIR_ENV = "LESION_MODEL_DIR"
NODE_MODULES_ENV = "LESION_NODE_MODULES"
HOST_ENV = "HOST"
PORT_ENV = "PORT"
# uvicorn's own variable for its --workers default.
WORKERS_ENV = "WEB_CONCURRENCY"


@dataclass(frozen=True)
class Settings:
    """Where the model, the npm packages, the static files and the templates live."""

    model_dir: Path = REPO_ROOT / "model_artifacts"
    node_modules: Path = REPO_ROOT / "node_modules"
    static_dir: Path = REPO_ROOT / "static"
    templates_dir: Path = REPO_ROOT / "templates"

    @classmethod
    def from_env(cls) -> Settings:
        """Defaults, overridden by LESION_MODEL_DIR and LESION_NODE_MODULES when set."""
        defaults = cls()
        return cls(
            model_dir=Path(os.environ.get(MODEL_DIR_ENV) or defaults.model_dir),
            node_modules=Path(os.environ.get(NODE_MODULES_ENV) or defaults.node_modules),
        )

    @property
    def tfjs_dist(self) -> Path:
        """Built files of @tensorflow/tfjs (tf.min.js)."""
        return self.npm_package("@tensorflow/tfjs") / "dist"

    @property
    def tfjs_wasm_dist(self) -> Path:
        """Built files of @tensorflow/tfjs-backend-wasm (script and .wasm binaries)."""
        return self.npm_package("@tensorflow/tfjs-backend-wasm") / "dist"

    def npm_package(self, name: str) -> Path:
        """Folder of an installed npm package, e.g. ``@tensorflow/tfjs``."""
        return self.node_modules.joinpath(*name.split("/"))

    def npm_version(self, name: str) -> str | None:
        """The installed version of an npm package, or None when it is not installed."""
        try:
            return json.loads((self.npm_package(name) / "package.json").read_text(encoding="utf-8"))["version"]
        except (OSError, ValueError, KeyError):
            return None


@dataclass(frozen=True)
class ServerSettings:
    """Where uvicorn listens and how many worker processes it runs."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1

    @classmethod
    def from_env(cls) -> ServerSettings:
        """Defaults, overridden by HOST, PORT and WEB_CONCURRENCY when set."""
        defaults = cls()
        port = _int_env(PORT_ENV, defaults.port)
        if not 0 < port < 65536:
            raise ValueError(f"{PORT_ENV}={port} is not a TCP port")
        return cls(
            host=os.environ.get(HOST_ENV) or defaults.host,
            port=port,
            workers=max(1, _int_env(WORKERS_ENV, defaults.workers)),
        )


def _int_env(name: str, default: int) -> int:
    text = os.environ.get(name)
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {text!r}") from None
