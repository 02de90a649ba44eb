"""The browser checks every model file against the manifest's sha256 before TF.js uses it: a
tampered file stops the page with a clear error and no prediction, never a silently wrong one."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from tests.browser_helpers import open_classifier
from tests.image_factory import lesion_like, write_rgb
from webapp.local_server import run_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    return write_rgb(tmp_path_factory.mktemp("photo") / "lesion.jpg", lesion_like(150, 200))


def copy_model(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def flip_bytes(path: Path) -> None:
    """Invert a few bytes in the middle of the file; its size stays the same."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    for i in range(middle, middle + 8):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def retune_model_json(path: Path) -> None:
    """Edit model.json so that it stays valid JSON describing the same model."""
    model = json.loads(path.read_text())
    model["generatedBy"] = "someone else"
    path.write_text(json.dumps(model))


@pytest.mark.parametrize(("tamper", "victim"), [(flip_bytes, "shard"), (retune_model_json, "model.json")])
def test_tampered_model_file_gives_an_integrity_error_and_no_prediction(
    browser, tiny_model, tmp_path, photo, tamper, victim
):
    model = copy_model(tiny_model, tmp_path / "model")
    manifest = json.loads((model / "manifest.json").read_text())
    name = next(e["path"] for e in manifest["files"] if e["path"].endswith(".bin")) if victim == "shard" else victim
    tamper(model / name)
    page = browser.new_page()
    with run_server({"LESION_MODEL_DIR": str(model)}) as base_url:
        page.goto(f"{base_url}/")
        page.wait_for_selector("body[data-model-state=ready], body[data-model-state=error]", timeout=60_000)
        assert page.get_attribute("body", "data-model-state") == "error", "the tampered model was used"
        status = page.inner_text("#model-status")
        assert "integrity check failed" in status.lower() and name in status, status

        page.set_input_files("input#image-input", str(photo))
        page.wait_for_selector("[role=alert]:not([hidden])", timeout=30_000)
        assert page.inner_text("[role=alert]").strip()
        assert page.get_attribute("#results", "data-state") != "done"
        assert page.evaluate("window.lesionApp.lastProbabilities") is None
        assert page.locator("#results [data-probability]").count() == 0
    page.close()


def test_a_missing_model_file_is_a_failed_download_not_an_integrity_error(browser, tiny_model, tmp_path):
    model = copy_model(tiny_model, tmp_path / "model")
    manifest = json.loads((model / "manifest.json").read_text())
    shard = next(e["path"] for e in manifest["files"] if e["path"].endswith(".bin"))
    (model / shard).unlink()
    page = browser.new_page()
    with run_server({"LESION_MODEL_DIR": str(model)}) as base_url:
        page.goto(f"{base_url}/")
        page.wait_for_selector("body[data-model-state=error]", timeout=60_000)
        status = page.inner_text("#model-status")
        assert f"{shard} failed (404)" in status and "integrity" not in status.lower(), status
    page.close()


def test_intact_model_loads_from_versioned_urls_only(browser, tiny_model):
    version = hashlib.sha256((tiny_model / "manifest.json").read_bytes()).hexdigest()[:16]
    page = browser.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    with run_server({"LESION_MODEL_DIR": str(tiny_model)}) as base_url:
        open_classifier(page, base_url)
        model_urls = {url.removeprefix(base_url) for url in requested if "/model/" in url}
        shards = {
            f"/model/v/{version}/{e['path']}"
            for e in json.loads((tiny_model / "manifest.json").read_text())["files"]
            if e["path"].endswith(".bin")
        }
        assert model_urls == {"/model/manifest.json", f"/model/v/{version}/model.json", *shards}
        assert page.evaluate("window.lesionApp.backend") == "wasm"
        assert page.evaluate("crossOriginIsolated"), "COOP/COEP should isolate the page"

        page.goto(f"{base_url}/?backend=cpu")
        page.wait_for_selector("body[data-model-state=ready]", timeout=60_000)
        assert page.evaluate("window.lesionApp.backend") == "cpu"
        page.goto(f"{base_url}/?backend=nonsense")
        page.wait_for_selector("body[data-model-state=error]", timeout=60_000)
        assert "nonsense" in page.inner_text("#model-status")
    page.close()
