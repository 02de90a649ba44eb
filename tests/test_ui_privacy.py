"""Private and offline by construction: a whole session talks only to the page's own server,
nothing about a photo is stored, and after one visit the page works (and predicts) offline."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.browser_helpers import classify_file, open_classifier
from tests.image_factory import lesion_like, write_rgb

pytestmark = pytest.mark.browser

CACHED_PATHS = ("/", "/classes", "/model-card", "/model/manifest.json")
CACHED_PREFIXES = ("/static/", "/vendor/", "/model/")

STORAGE_REPORT = """async () => ({
    localStorage: localStorage.length,
    sessionStorage: sessionStorage.length,
    cookie: document.cookie,
    indexedDB: (await indexedDB.databases()).map((db) => db.name),
    caches: await Promise.all((await caches.keys()).map(async (name) => ({
        name,
        entries: await Promise.all((await (await caches.open(name)).keys()).map(async (request) => {
            const response = await (await caches.open(name)).match(request);
            return { url: request.url, type: response.headers.get('content-type') || '' };
        })),
    }))),
})"""


@pytest.fixture(scope="module")
def model_dir(app_model, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("served") / "model"
    shutil.copytree(app_model, folder)
    return folder


@pytest.fixture(scope="module")
def served_model(model_dir) -> Path:
    return model_dir


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    return write_rgb(tmp_path_factory.mktemp("photos") / "spot.jpg", lesion_like(450, 600, 41))


def wait_offline_ready(page) -> None:
    page.wait_for_selector("html[data-offline]", state="attached", timeout=60_000)
    assert page.get_attribute("html", "data-offline") == "ready", page.inner_text("#offline-status")


def test_a_whole_session_talks_only_to_its_own_server_and_stores_nothing(session, photo):
    base_url, browser = session
    context = browser.new_context()
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    open_classifier(page, base_url)
    assert classify_file(page, photo) is not None
    page.focus("#frame")
    page.keyboard.press("ArrowLeft")
    page.wait_for_selector("#results[data-state=done]", state="attached")
    wait_offline_ready(page)
    if page.is_visible("#show-output"):  # a photo the model cannot judge: its output is one click away
        page.click("#show-output")
    page.click("#results a[href='/classes']")
    page.wait_for_selector(".class-entry")

    own = urlsplit(base_url).netloc
    foreign = {url for url in requests if urlsplit(url).scheme in ("http", "https", "ws", "wss")}
    foreign = {url for url in foreign if urlsplit(url).netloc != own}
    assert requests and not foreign, f"requests to other hosts: {sorted(foreign)}"
    assert not [url for url in requests if urlsplit(url).scheme not in ("http", "data", "blob")]

    report = page.evaluate(STORAGE_REPORT)
    assert report["localStorage"] == 0 and report["sessionStorage"] == 0
    assert report["cookie"] == "" and context.cookies() == [] and report["indexedDB"] == []
    for cache in report["caches"]:
        for entry in cache["entries"]:
            url = urlsplit(entry["url"])
            assert url.netloc == own, entry
            assert url.path in CACHED_PATHS or url.path.startswith(CACHED_PREFIXES), entry
            assert not entry["type"].startswith("image/"), entry
    context.close()


def test_after_one_visit_the_page_works_and_predicts_offline(session, photo):
    base_url, browser = session
    context = browser.new_context()
    page = context.new_page()
    open_classifier(page, base_url)
    online = classify_file(page, photo)
    wait_offline_ready(page)
    page.goto(f"{base_url}/model-card")
    card = page.locator("main").inner_text()

    context.set_offline(True)
    try:
        page.goto(f"{base_url}/")
        page.wait_for_selector("body[data-model-state=ready]", timeout=60_000)
        assert classify_file(page, photo) == pytest.approx(online, abs=1e-6)
        page.goto(f"{base_url}/classes")
        assert page.locator(".class-entry").count() == 7
        page.goto(f"{base_url}/model-card")
        assert page.locator("main").inner_text() == card
    finally:
        context.set_offline(False)
    context.close()


def test_a_new_model_or_app_version_replaces_the_offline_copy(session, model_dir):
    base_url, browser = session
    context = browser.new_context()
    page = context.new_page()
    open_classifier(page, base_url)
    wait_offline_ready(page)
    old = page.get_attribute("meta[name=site-version]", "content")

    manifest = json.loads((model_dir / "manifest.json").read_text())
    manifest["note"] = "re-exported"
    (model_dir / "manifest.json").write_text(json.dumps(manifest))
    open_classifier(page, base_url)
    wait_offline_ready(page)
    new = page.get_attribute("meta[name=site-version]", "content")
    assert new != old
    names = [cache["name"] for cache in page.evaluate(STORAGE_REPORT)["caches"]]
    assert names == [f"lesion-{new}"]
    assert page.evaluate("fetch('/model/manifest.json').then((r) => r.json()).then((m) => m.note)") == "re-exported"
    context.close()
