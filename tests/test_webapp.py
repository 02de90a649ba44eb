"""The server serves pages, scripts and model files only: no uploads, no inference, safe headers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from webapp.config import Settings
from webapp.main import create_app


@pytest.fixture(scope="module")
def client(tiny_model) -> TestClient:
    defaults = Settings()
    return TestClient(create_app(Settings(model_dir=tiny_model, node_modules=defaults.node_modules)))


def test_pages_render(client):
    page = client.get("/")
    assert page.status_code == 200 and 'id="image-input"' in page.text and 'type="file"' in page.text
    classes = client.get("/classes")
    assert classes.status_code == 200 and "Melanoma" in classes.text and "Basal cell carcinoma" in classes.text
    assert client.get("/healthz").json() == {"status": "ok"}


def test_model_and_vendored_tfjs_are_served(client, tiny_model):
    manifest = client.get("/model/manifest.json").json()
    for entry in manifest["files"]:
        response = client.get(f"/model/{entry['path']}")
        assert response.status_code == 200 and len(response.content) == entry["bytes"]
    assert client.get("/vendor/tfjs/tf.min.js").status_code == 200
    wasm = client.get("/vendor/tfjs-backend-wasm/tfjs-backend-wasm-simd.wasm")
    assert wasm.status_code == 200 and wasm.headers["content-type"] == "application/wasm"


def test_no_route_accepts_a_body(client):
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        for path in ("/", "/classes", "/model/manifest.json", "/static/js/app.js", "/upload", "/predict"):
            assert client.request(method, path, content=b"x").status_code in (404, 405), (method, path)
    methods = {m for route in client.app.routes for m in getattr(route, "methods", set()) or set()}
    assert methods <= {"GET", "HEAD"}


def test_security_headers(client):
    headers = client.get("/").headers
    policy = headers["content-security-policy"]
    assert "default-src 'self'" in policy and "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert headers["x-content-type-options"] == "nosniff" and headers["referrer-policy"] == "no-referrer"


def test_page_references_no_other_host(client):
    page = client.get("/").text
    assert "http://" not in page and "https://" not in page and "//cdn" not in page
