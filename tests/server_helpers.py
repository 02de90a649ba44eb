"""Helpers for server tests: run a server command on a loopback port, send raw HTTP requests.

Not a test module itself. ``raw_get`` writes the request line byte for byte, so paths reach the
server exactly as given (HTTP clients and TestClient normalise or reject some of them).
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

REPO_ROOT = Path(__file__).resolve().parent.parent


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


def raw_get(port: int, target: bytes, timeout_s: float = 10.0) -> tuple[int, bytes]:
    """Send ``GET <target> HTTP/1.1`` to 127.0.0.1:port as raw bytes; return (status, whole response).

    The status is 0 when the server closed the connection without answering.
    """
    request = b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    response = b"".join(chunks)
    status_line = response.split(b"\r\n", 1)[0].split()
    return (int(status_line[1]) if len(status_line) > 1 else 0), response
