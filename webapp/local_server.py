"""Run this web app in a child process on a loopback port, for the tests and the benchmarks.

``run_server`` serves a model folder on a free port and yields the base URL; ``serve`` runs any
server command that listens on 127.0.0.1 until its /healthz answers and stops it on exit.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from webapp.config import REPO_ROOT


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningServer:
    """A server started by ``serve``: its base URL and (growing) log file."""

    base_url: str
    port: int
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def serve(
    command: Sequence[str], env: Mapping[str, str], port: int, timeout_s: float = 30.0
) -> Iterator[RunningServer]:
    """Run ``command`` (which must listen on 127.0.0.1:port) until /healthz answers; stop it on exit."""
    with tempfile.TemporaryDirectory() as folder:
        server = RunningServer(f"http://127.0.0.1:{port}", port, Path(folder) / "server.log")
        with server.log_path.open("wb") as log:
            process = subprocess.Popen(
                command, cwd=REPO_ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            _wait_healthy(server, process, timeout_s)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_healthy(server: RunningServer, process: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with status {process.returncode}:\n{server.log()}")
        try:
            with urllib.request.urlopen(f"{server.base_url}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{server.base_url} did not answer within {timeout_s} s:\n{server.log()}")


def uvicorn_command(port: int, *extra: str) -> list[str]:
    """``python -m uvicorn webapp.main:app`` on 127.0.0.1:port."""
    return [sys.executable, "-m", "uvicorn", "webapp.main:app", "--host", "127.0.0.1", "--port", str(port), *extra]


@contextmanager
def run_server(env: Mapping[str, str] | None = None, timeout_s: float = 30.0) -> Iterator[str]:
    """Run ``uvicorn webapp.main:app`` on a free loopback port; yield its base URL.

    ``env`` adds to the current environment (e.g. LESION_MODEL_DIR). The server is stopped
    on exit; its log is included in the error if it fails to start.
    """
    port = free_port()
    with serve(uvicorn_command(port), env or {}, port, timeout_s) as server:
        yield server.base_url
