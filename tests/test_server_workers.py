"""Running the server as deployed: several uvicorn workers, and `python -m webapp` configured by
HOST, PORT, WEB_CONCURRENCY and LESION_MODEL_DIR."""

from __future__ import annotations

import hashlib
import re
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from webapp.config import ServerSettings
from webapp.local_server import RunningServer, free_port, serve, uvicorn_command


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, dict(response.headers), response.read()


def wait_for_workers(server: RunningServer, count: int, timeout_s: float = 30) -> set[str]:
    """PIDs of the worker processes that logged their start, once there are ``count`` of them."""
    deadline = time.monotonic() + timeout_s
    while True:
        started = set(re.findall(r"Started server process \[(\d+)\]", server.log()))
        if len(started) >= count or time.monotonic() > deadline:
            return started
        time.sleep(0.1)


def test_two_uvicorn_workers_serve_pages_and_model(tiny_model):
    manifest_bytes = (tiny_model / "manifest.json").read_bytes()
    version = hashlib.sha256(manifest_bytes).hexdigest()[:16]
    port = free_port()
    with serve(uvicorn_command(port, "--workers", "2"), {"LESION_MODEL_DIR": str(tiny_model)}, port) as server:
        assert len(wait_for_workers(server, 2)) == 2, server.log()
        paths = ["/", "/classes", "/model/manifest.json", f"/model/v/{version}/model.json", "/healthz"] * 6
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda path: (path, *fetch(server.base_url + path)), paths))
    assert all(status == 200 for _, status, _, _ in results)
    manifests = [(headers["etag"], body) for path, _, headers, body in results if path == "/model/manifest.json"]
    assert {body for _, body in manifests} == {manifest_bytes}
    assert len({etag for etag, _ in manifests}) == 1, "workers disagree on the manifest's ETag"
    pages = {body for path, _, _, body in results if path == "/"}
    assert len(pages) == 1 and b'id="image-input"' in next(iter(pages))


def test_python_m_webapp_reads_host_port_and_model_dir_from_the_environment(tiny_model):
    port = free_port()
    env = {
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "LESION_MODEL_DIR": str(tiny_model),
    }
    with serve([sys.executable, "-m", "webapp"], env, port) as server:
        status, headers, body = fetch(f"{server.base_url}/model/manifest.json")
        assert status == 200 and body == (tiny_model / "manifest.json").read_bytes()
        assert "server" not in {name.lower() for name in headers}, "no server banner"
        assert len(wait_for_workers(server, 2)) == 2, server.log()


def test_server_settings_from_the_environment(monkeypatch):
    for name in ("HOST", "PORT", "WEB_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    assert ServerSettings.from_env() == ServerSettings("127.0.0.1", 8000, 1)
    monkeypatch.setenv("HOST", "0.0.0.0")
    monkeypatch.setenv("PORT", "9000")
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    assert ServerSettings.from_env() == ServerSettings("0.0.0.0", 9000, 4)
    for bad in ("eighty", "0", "70000"):
        monkeypatch.setenv("PORT", bad)
        with pytest.raises(ValueError, match="PORT"):
            ServerSettings.from_env()
