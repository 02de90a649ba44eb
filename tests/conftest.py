"""Shared fixtures: generated datasets, a tiny trained model, the real-data location, and a served
model with a headless browser for the browser tests."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

# Keep the decoded-image cache of test runs out of the user's home cache.
os.environ.setdefault("LESION_CACHE_DIR", tempfile.mkdtemp(prefix="lesion-test-cache-"))

from benchmarks.chromium import launch_chromium, open_classifier
from tests.image_factory import write_ham_layout
from webapp.local_server import run_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

REPO_ROOT = Path(__file__).resolve().parent.parent
REAL_DATA = REPO_ROOT.parent / "shared" / "data" / "ham10000"
REAL_MILK = REPO_ROOT.parent / "shared" / "data" / "milk10k"
SHIPPED_MODEL = REPO_ROOT / "model_artifacts"

needs_real_data = pytest.mark.skipif(
    not (REAL_DATA / "HAM10000_metadata.csv").is_file(),
    reason=f"real HAM10000 data not found at {REAL_DATA} (it lives in ../shared, outside the repository)",
)
needs_real_milk = pytest.mark.skipif(
    not (REAL_MILK / "MILK10k_Training_Metadata.csv").is_file(),
    reason=f"real MILK10k data not found at {REAL_MILK} (it lives in ../shared, outside the repository)",
)
needs_shipped_model = pytest.mark.skipif(
    not (SHIPPED_MODEL / "model.json").is_file(), reason="no committed model in model_artifacts/"
)


def tree_digest(folder: Path) -> dict[str, str]:
    """The sha256 of every file under ``folder``, by relative path: equal digests mean the folder is untouched."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="session")
def ham_layout(tmp_path_factory) -> Path:
    """A tiny generated HAM10000-layout dataset (6 images per class, 200x150 JPEGs)."""
    return write_ham_layout(tmp_path_factory.mktemp("ham"))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, ham_layout) -> Path:
    """A compact CNN trained for one epoch on the generated dataset and exported by `trainer build`."""
    from trainer.build import BuildPlan, build
    from trainer.recipe import recipe_for, with_overrides

    out = tmp_path_factory.mktemp("models") / "tiny"
    recipe = with_overrides(recipe_for("compact-cnn"), epochs=1)
    build(BuildPlan(data=(ham_layout,), out=out, recipe=recipe, quantization="float16"))
    return out


@pytest.fixture(scope="session")
def app_model(request) -> Path:
    """The model the web app serves in browser tests: LESION_TEST_MODEL when set (a candidate
    model folder), else the committed one when there is one (the product), else the tiny test model."""
    if os.environ.get("LESION_TEST_MODEL"):
        return Path(os.environ["LESION_TEST_MODEL"])
    if (SHIPPED_MODEL / "model.json").is_file():
        return SHIPPED_MODEL
    return request.getfixturevalue("tiny_model")


@pytest.fixture(scope="module")
def served_model(app_model) -> Path:
    """The model folder a module's ``session`` serves; a module that edits it overrides this with a copy."""
    return app_model


@pytest.fixture(scope="module")
def chromium_args() -> tuple[str, ...]:
    """Extra Chromium switches for a module's ``browser``; a module overrides this (e.g. a fake camera)."""
    return ()


@pytest.fixture(scope="module")
def browser(chromium_args) -> Iterator[Browser]:
    """Headless Chromium, one per module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright, chromium_args)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def session(served_model, browser) -> Iterator[tuple[str, Browser]]:
    """The web app serving ``served_model`` on a loopback port, and the browser: (base URL, browser)."""
    with run_server({"LESION_MODEL_DIR": str(served_model)}) as base_url:
        yield base_url, browser


@pytest.fixture(scope="module")
def context_options() -> dict:
    """Options of the browser context behind ``page``; a module overrides this (e.g. to grant the camera).

    Service workers are blocked: the offline cache (tested in test_ui_privacy) would store the
    app and model in the background while the page is being tested.
    """
    return {"service_workers": "block"}


@pytest.fixture(scope="module")
def page(session, context_options) -> Iterator[Page]:
    """The classifier page with its model loaded, one per module (in a fresh browser context)."""
    base_url, browser = session
    context = browser.new_context(**context_options)
    page = context.new_page()
    open_classifier(page, base_url)
    yield page
    context.close()
