"""Headless Chromium and the classifier page driven in it (benchmarks and browser tests)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

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


def launch_chromium(playwright: Playwright, extra_args: Sequence[str] = ()) -> Browser:
    """Headless Chromium: Debian's /usr/bin/chromium if present, else Playwright's own build."""
    executable = str(SYSTEM_CHROMIUM) if SYSTEM_CHROMIUM.exists() else None
    return playwright.chromium.launch(executable_path=executable, args=[*CHROMIUM_ARGS, *extra_args], headless=True)


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
