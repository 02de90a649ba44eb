"""Path traversal and malformed paths, sent byte for byte to a live uvicorn: nothing outside the
served folders ever comes back, including through symlinks planted in the model folder."""

from __future__ import annotations

import hashlib
import shutil

import pytest

from tests.server_helpers import raw_get
from webapp.local_server import free_port, serve, uvicorn_command

SECRET = b"TOPSECRET-3f9c1e"
# Text that only files outside the served folders contain.
LEAK_MARKERS = (SECRET, b"root:x:0:", b"[build-system]", b"def create_app", b'"name": "@tensorflow/tfjs"')
REFUSED = {0, 400, 404, 414, 431}


def attack_paths(version: str) -> list[bytes]:
    """At least 20 request targets that try to read something outside the served folders."""
    long_name = b"a" * 5000
    return [
        b"/model/../pyproject.toml",
        b"/model/../../../../../../etc/passwd",
        b"/static/../webapp/main.py",
        b"/static/js/../../webapp/main.py",
        b"/model/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        b"/model/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        b"/static/..%2f..%2fpyproject.toml",
        b"/static/%252e%252e%252f%252e%252e%252fpyproject.toml",  # double encoding
        b"/model/..%252f..%252fpyproject.toml",
        b"/model/.%2e/.%2e/pyproject.toml",
        b"/model/%c0%ae%c0%ae/%c0%ae%c0%ae/pyproject.toml",  # overlong UTF-8 dots
        b"/static/..\\..\\pyproject.toml",  # backslashes
        b"/static/%5c..%5c..%5cpyproject.toml",
        b"/model/manifest.json%00.png",  # NUL bytes
        b"/model/%00../../pyproject.toml",
        b"/static/js/app.js%00/../../../pyproject.toml",
        b"/etc/passwd",  # absolute paths
        b"//etc/passwd",
        b"/model//etc/passwd",
        b"/static/%2fetc%2fpasswd",
        b"http://127.0.0.1/etc/passwd",  # absolute-form request target
        b"/model/manifest.json/../../pyproject.toml",
        b"/model/....//....//pyproject.toml",
        b"/vendor/tfjs/../package.json",
        b"/vendor/tfjs/%2e%2e/package.json",
        b"/vendor/tfjs@4.22.0/../../../../pyproject.toml",
        b"/vendor/tfjs@0.0.0/tf.min.js",  # a version that is not installed
        f"/model/v/{version}/../../../pyproject.toml".encode(),
        b"/model/v/..%2f..%2f..%2fpyproject.toml",
        b"/model/v/0000000000000000/model.json",  # a model version that is not installed
        b"/model/leak.txt",  # symlink to a file outside the model folder
        b"/model/escape/secret.txt",  # symlinked folder outside the model folder
        b"/model/passwd",  # absolute symlink
        f"/model/v/{version}/leak.txt".encode(),
        b"/model/" + long_name,  # very long paths
        b"/static/" + b"../" * 3000 + b"etc/passwd",
    ]


@pytest.fixture(scope="module")
def planted(tmp_path_factory, tiny_model):
    """A copy of the tiny model with symlinks pointing out of it, and the secret they point at."""
    root = tmp_path_factory.mktemp("traversal")
    (root / "secret.txt").write_bytes(SECRET)
    (root / "outside").mkdir()
    (root / "outside" / "secret.txt").write_bytes(SECRET)
    model = root / "model"
    shutil.copytree(tiny_model, model)
    (model / "leak.txt").symlink_to("../secret.txt")
    (model / "escape").symlink_to(root / "outside", target_is_directory=True)
    (model / "passwd").symlink_to("/etc/passwd")
    version = hashlib.sha256((model / "manifest.json").read_bytes()).hexdigest()[:16]
    return model, version


@pytest.fixture(scope="module")
def server(planted):
    model, _ = planted
    port = free_port()
    with serve(uvicorn_command(port), {"LESION_MODEL_DIR": str(model)}, port) as running:
        yield running


def test_the_raw_client_reads_served_files(server, planted):
    """Control: the same raw requests do fetch legitimate files (and the symlinks do exist)."""
    model, version = planted
    assert (model / "leak.txt").read_bytes() == SECRET
    status, response = raw_get(server.port, f"/model/v/{version}/manifest.json".encode())
    assert status == 200 and response.endswith((model / "manifest.json").read_bytes())


def test_traversal_and_malformed_paths_are_refused(server, planted):
    _, version = planted
    paths = attack_paths(version)
    assert len(paths) >= 20
    for target in paths:
        status, response = raw_get(server.port, target)
        assert status in REFUSED, (target[:80], status)
        assert not any(marker in response for marker in LEAK_MARKERS), target[:80]
    status, _ = raw_get(server.port, b"/healthz")
    assert status == 200, "the server stopped answering"
