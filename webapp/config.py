"""Filesystem locations the web app serves, configurable through environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

MODEL_DIR_ENV = "LESION_MODEL_DIR"
NODE_MODULES_ENV = "LESION_NODE_MODULES"


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
        return self.node_modules / "@tensorflow" / "tfjs" / "dist"

    @property
    def tfjs_wasm_dist(self) -> Path:
        """Built files of @tensorflow/tfjs-backend-wasm (script and .wasm binaries)."""
        return self.node_modules / "@tensorflow" / "tfjs-backend-wasm" / "dist"
