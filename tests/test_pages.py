"""Pages carry the site version the service worker caches by, and /sw.js is served from the root."""

from __future__ import annotations

import json
import shutil

from fastapi.testclient import TestClient

from webapp.config import Settings
from webapp.main import create_app


def test_service_worker_and_site_version(tiny_model, tmp_path):
    model_dir = tmp_path / "model"
    shutil.copytree(tiny_model, model_dir)
    client = TestClient(create_app(Settings(model_dir=model_dir, node_modules=Settings().node_modules)))

    worker = client.get("/sw.js")
    assert worker.status_code == 200 and worker.headers["content-type"].startswith("text/javascript")
    assert "no-cache" in worker.headers["cache-control"] and "addEventListener('fetch'" in worker.text

    page = client.get("/")
    version = page.headers["x-site-version"]
    assert f'<meta name="site-version" content="{version}">' in page.text
    assert client.get("/classes").headers["x-site-version"] == version

    manifest = json.loads((model_dir / "manifest.json").read_text())
    (model_dir / "manifest.json").write_text(json.dumps({**manifest, "note": "re-exported"}))
    assert client.get("/").headers["x-site-version"] != version
