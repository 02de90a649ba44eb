"""Helpers for browser tests: run the web app on a loopback port and drive it with Chromium.

Not a test module itself. Typical use::

    with run_server({"LESION_MODEL_DIR": str(model_dir)}) as base_url, sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page()
        open_classifier(page, base_url)
        probabilities = classify_file(page, "photo.jpg")
        pixels = last_input(page)  # float32 (75, 100, 3), compare with preprocess_file
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from tests.server_helpers import free_port, serve, uvicorn_command

if TYPE_CHECKING:
    import numpy as np
    from playwright.sync_api import Browser, JSHandle, Page, Playwright


SYSTEM_CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@contextmanager
def run_server(env: Mapping[str, str] | None = None, timeout_s: float = 30.0) -> Iterator[str]:
    """Run ``uvicorn webapp.main:app`` on a free loopback port; yield its base URL.

    ``env`` adds to the current environment (e.g. LESION_MODEL_DIR). The server is stopped
    on exit; its log is included in the error if it fails to start.
    """
    port = free_port()
    with serve(uvicorn_command(port), env or {}, port, timeout_s) as server:
        yield server.base_url


def launch_chromium(playwright: Playwright, extra_args: Sequence[str] = ()) -> Browser:
    """Headless Chromium: Debian's /usr/bin/chromium if present, else Playwright's own build."""
    executable = str(SYSTEM_CHROMIUM) if SYSTEM_CHROMIUM.exists() else None
    return playwright.chromium.launch(executable_path=executable, args=[*CHROMIUM_ARGS, *extra_args], headless=True)


@contextmanager
def browser_session(model_dir: Path, extra_args: Sequence[str] = ()) -> Iterator[tuple[str, Browser]]:
    """A server for ``model_dir`` and a headless Chromium; yield (base URL, browser)."""
    from playwright.sync_api import sync_playwright

    with run_server({"LESION_MODEL_DIR": str(model_dir)}) as base_url, sync_playwright() as playwright:
        browser = launch_chromium(playwright, extra_args)
        try:
            yield base_url, browser
        finally:
            browser.close()


def open_classifier(page: Page, base_url: str, timeout_ms: float = 60_000) -> None:
    """Open the classifier page and wait until the model is loaded and warmed up (or fail)."""
    page.goto(f"{base_url}/")
    page.wait_for_selector("body[data-model-state=ready], body[data-model-state=error]", timeout=timeout_ms)
    if page.get_attribute("body", "data-model-state") == "error":
        raise RuntimeError(f"the page could not load the model: {page.inner_text('#model-status')}")


def classify_file(page: Page, path: str | Path, timeout_ms: float = 60_000) -> list[float] | None:
    """Choose a file in the page; return the probabilities, or None if the page showed an error.

    The page marks #results "working" synchronously on change, so waiting for "done" or
    "error" afterwards cannot see the previous file's result. (Selectors, not
    ``wait_for_function``: the page's CSP forbids the string evaluation that it uses, unless the
    browser context is created with ``bypass_csp=True``.)
    """
    page.set_input_files("input#image-input", str(path))
    return wait_for_result(page, timeout_ms)


def wait_for_result(page: Page, timeout_ms: float = 60_000) -> list[float] | None:
    """After an action that starts a prediction (the page marks #results "working" synchronously):
    the probabilities, or None if the page showed an error."""
    page.wait_for_selector(
        "#results[data-state=done], #results[data-state=error]", state="attached", timeout=timeout_ms
    )
    if page.get_attribute("#results", "data-state") == "error":
        return None
    return page.evaluate("window.lesionApp.lastProbabilities")


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
