"""Response headers: security policy on every response, cache policy per URL, validators, gzip,
and a read-only surface (GET/HEAD only, no request bodies, no write routes in the OpenAPI schema)."""

from __future__ import annotations

import hashlib
import shutil

import pytest
from fastapi.testclient import TestClient

from webapp.config import Settings
from webapp.main import create_app

PATHS = (
    "/",
    "/classes",
    "/healthz",
    "/static/js/app.js",
    "/vendor/tfjs/tf.min.js",
    "/model/manifest.json",
    "/model/model.json",
    "/no/such/page",
)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, tiny_model):
    """A private copy of the tiny model: one test installs a new manifest in it."""
    copy = tmp_path_factory.mktemp("headers") / "model"
    shutil.copytree(tiny_model, copy)
    return copy


@pytest.fixture(scope="module")
def client(model_dir) -> TestClient:
    return TestClient(create_app(Settings(model_dir=model_dir, node_modules=Settings().node_modules)))


def version_of(model_dir) -> str:
    return hashlib.sha256((model_dir / "manifest.json").read_bytes()).hexdigest()[:16]


def csp_directives(policy: str) -> dict[str, list[str]]:
    directives = [part.split() for part in policy.split(";") if part.strip()]
    return {name: sources for name, *sources in directives}


@pytest.mark.parametrize(
    ("method", "path"), [("GET", p) for p in PATHS] + [("POST", "/"), ("HEAD", "/static/js/app.js")]
)
def test_security_headers_on_every_response(client, method, path):
    headers = client.request(method, path).headers
    csp = csp_directives(headers["content-security-policy"])
    assert csp["default-src"] == ["'self'"] and csp["frame-ancestors"] == ["'none'"]
    assert set(csp["script-src"]) == {"'self'", "'wasm-unsafe-eval'"}
    for sources in csp.values():
        assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "http:", "https:"} & set(sources)
        assert not [s for s in sources if "://" in s], "no other host may be allowed"
    assert headers["cross-origin-opener-policy"] == "same-origin"
    assert headers["cross-origin-embedder-policy"] == "require-corp"
    assert headers["cross-origin-resource-policy"] == "same-origin"
    assert headers["x-content-type-options"] == "nosniff" and headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"
    policies = dict(item.strip().split("=", 1) for item in headers["permissions-policy"].split(","))
    assert policies["camera"] == "(self)" and policies["microphone"] == "()"


def test_versioned_model_urls_are_immutable_and_follow_the_manifest(client, model_dir):
    version = version_of(model_dir)
    for entry in client.get("/model/manifest.json").json()["files"]:
        plain = client.get(f"/model/{entry['path']}")
        versioned = client.get(f"/model/v/{version}/{entry['path']}")
        assert versioned.status_code == 200 and versioned.content == plain.content
        assert hashlib.sha256(versioned.content).hexdigest() == entry["sha256"]
        assert versioned.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert plain.headers["cache-control"] == "no-cache" and plain.headers["etag"]
    assert client.get(f"/model/v/{'0' * 16}/model.json").status_code == 404

    # A new export changes the manifest: the old version's URLs stop answering, the new ones start.
    manifest = model_dir / "manifest.json"
    manifest.write_bytes(manifest.read_bytes() + b"\n")
    assert client.get(f"/model/v/{version}/model.json").status_code == 404
    assert client.get(f"/model/v/{version_of(model_dir)}/model.json").status_code == 200


def test_vendored_tfjs_at_versioned_and_plain_urls(client):
    version = Settings().npm_version("@tensorflow/tfjs")
    assert version and client.app.state.templates.env.globals["vendor"]["tfjs"] == f"/vendor/tfjs@{version}"
    versioned = client.get(f"/vendor/tfjs@{version}/tf.min.js")
    plain = client.get("/vendor/tfjs/tf.min.js")
    assert versioned.status_code == 200 and versioned.content == plain.content
    assert versioned.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert plain.headers["cache-control"] == "no-cache"
    wasm_version = Settings().npm_version("@tensorflow/tfjs-backend-wasm")
    wasm = client.get(f"/vendor/tfjs-backend-wasm@{wasm_version}/tfjs-backend-wasm-simd.wasm")
    assert wasm.status_code == 200 and wasm.headers["content-type"] == "application/wasm"


@pytest.mark.parametrize("path", ["/", "/classes", "/model/manifest.json", "/static/js/app.js", "/model/model.json"])
def test_revalidation_with_etag(client, path):
    first = client.get(path)
    assert first.status_code == 200 and first.headers["cache-control"] == "no-cache"
    etag = first.headers["etag"]
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert client.get(path, headers={"If-None-Match": '"something-else"'}).status_code == 200


def test_text_is_gzipped_and_weights_are_not(client, model_dir):
    for path in ("/", "/vendor/tfjs/tf.min.js", "/model/model.json", "/static/js/model.js"):
        response = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert response.headers.get("content-encoding") == "gzip", path
        assert response.num_bytes_downloaded < len(response.content) * 0.6, path
        assert "accept-encoding" in response.headers["vary"].lower()
        # A static file's ETag names the file, not these compressed bytes: it must be weak.
        assert path == "/" or response.headers["etag"].startswith('W/"'), path
    shard = next(e["path"] for e in client.get("/model/manifest.json").json()["files"] if e["path"].endswith(".bin"))
    response = client.get(f"/model/{shard}", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in response.headers and response.headers["etag"].startswith('"')
    assert response.content == (model_dir / shard).read_bytes()


def test_read_only_surface(client):
    for method in ("POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        for path in ("/", "/healthz", "/model/manifest.json", "/static/js/app.js", "/upload"):
            response = client.request(method, path, content=b"photo bytes")
            assert response.status_code == 405 and response.headers["allow"] == "GET, HEAD", (method, path)
    assert client.request("GET", "/", content=b"photo bytes").status_code == 400
    schema = client.app.openapi()
    methods = {method for operations in schema["paths"].values() for method in operations}
    assert schema["paths"] and methods <= {"get", "head"}
    assert all("requestBody" not in op for operations in schema["paths"].values() for op in operations.values())


@pytest.mark.parametrize(
    "path", ["/", "/classes", "/healthz", "/static/js/app.js", "/model/manifest.json", "/model/model.json"]
)
def test_head_answers_with_the_headers_of_get_and_no_body(client, path):
    get = client.get(path)
    head = client.head(path)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert dict(head.headers) == dict(get.headers)
    assert head.headers["content-security-policy"] and int(head.headers["content-length"]) == get.num_bytes_downloaded
