"""Helpers for browser tests: drive the web app's page in Chromium.

Not a test module itself. The shared fixtures in tests/conftest.py give a module a served model
and a browser (``session``: base URL and browser). Typical use::

    page = browser.new_page()
    open_classifier(page, base_url)
    probabilities = classify_file(page, "photo.jpg")
    pixels = last_input(page)  # float32 (75, 100, 3), compare with preprocess_file
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

# The page-driving helpers the benchmarks share, re-exported for the tests.
from benchmarks.chromium import classify_file as classify_file
from benchmarks.chromium import open_classifier as open_classifier
from benchmarks.chromium import wait_for_result as wait_for_result
from tests.conftest import REPO_ROOT

if TYPE_CHECKING:
    import numpy as np
    from playwright.sync_api import JSHandle, Page


def predict_json(model: Path, images: list[Path]) -> dict[str, dict]:
    """`trainer predict --json` run as a user would run it (the Python reference for the page)."""
    result = subprocess.run(
        [sys.executable, "-m", "trainer", "predict", "--model", str(model), "--json", *map(str, images)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def editable_copy(model_dir: Path, parent: Path) -> Path:
    """A copy of ``model_dir`` inside ``parent`` that a test may edit while the app serves it."""
    copy = parent / "model"
    shutil.copytree(model_dir, copy)
    return copy


def copy_judging_every_photo(model_dir: Path, parent: Path) -> Path:
    """An editable copy of ``model_dir`` whose manifest has no out-of-distribution rule.

    Generated test photos are unusual to a real model (its OOD score marks them all not judged); tests of
    what the page shows for a judged photo, or of its saliency map, serve this copy instead.
    """
    copy = editable_copy(model_dir, parent)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest.get("decision", {}).pop("ood", None)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy


class EditableSite:
    """A page served from an editable copy of the model folder (see :func:`editable_copy`)."""

    def __init__(self, page: Page, base_url: str, model_dir: Path) -> None:
        self.page, self.base_url, self.model_dir = page, base_url, model_dir
        self.original = json.loads((model_dir / "manifest.json").read_text())

    def use_manifest(self, change: Callable[[dict], None] | None = None) -> dict:
        """Install the original manifest, edited by ``change``, and reload the page."""
        manifest = json.loads(json.dumps(self.original))
        if change:
            change(manifest)
        (self.model_dir / "manifest.json").write_text(json.dumps(manifest))
        open_classifier(self.page, self.base_url)
        return manifest


def file_in_page(page: Page, path: str | Path, mime: str = "") -> JSHandle:
    """A ``File`` with the bytes and name of ``path``, created inside the page."""
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return page.evaluate_handle(
        """([data, name, type]) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            return new File([bytes], name, { type });
        }""",
        [data, Path(path).name, mime],
    )


def drop_file(page: Page, path: str | Path, target: str = "#drop-zone") -> list[float] | None:
    """Drag and drop a file onto ``target``; the probabilities, or None on an error."""
    transfer = page.evaluate_handle(
        "(file) => { const dt = new DataTransfer(); dt.items.add(file); return dt; }", file_in_page(page, path)
    )
    page.dispatch_event(target, "drop", {"dataTransfer": transfer})
    return wait_for_result(page)


def paste_file(page: Page, path: str | Path) -> list[float] | None:
    """Paste a file as from the clipboard; the probabilities, or None on an error."""
    page.evaluate(
        """(file) => {
            const dt = new DataTransfer();
            dt.items.add(file);
            document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true }));
        }""",
        file_in_page(page, path),
    )
    return wait_for_result(page)


def last_input(page: Page) -> np.ndarray:
    """The last model input as float32 (height, width, 3), fetched as base64 (fast)."""
    import numpy as np

    encoded, height, width = page.evaluate(
        """() => {
            const input = window.lesionApp.lastInput;
            const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
            let text = '';
            for (let i = 0; i < bytes.length; i += 0x8000) {
                text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
            }
            const { height, width } = window.lesionApp.inputSize;
            return [btoa(text), height, width];
        }"""
    )
    return np.frombuffer(base64.b64decode(encoded), dtype="<f4").reshape(height, width, 3)
