"""Bounded loopback load test with Debian's ``wrk`` against a server this module starts itself.

The target is always 127.0.0.1 and each run stops after its duration. Requests rotate over the
page, the manifest, model.json and the weight shards (versioned URLs), with Accept-Encoding: gzip
as a browser sends. Standalone: ``python -m benchmarks.load --model model_artifacts``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.model_files import model_files
from webapp.local_server import run_server
from webapp.manifest import manifest_version

LOOPBACK = "http://127.0.0.1:"
SERVER_WORKERS = 2  # as in the Docker image
WRK_MISSING = "wrk is not installed; install it (Debian/Ubuntu: `apt-get install wrk`) and rerun"

# Per thread: rotate over the paths given after "--"; at the end print one JSON line.
WRK_SCRIPT = """
local paths = {}
local counter = 0
function init(args)
  for _, path in ipairs(args) do table.insert(paths, path) end
end
function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def model_paths(model_dir: Path) -> list[str]:
    """The URLs a visitor's browser fetches for the model, plus the page and the manifest."""
    version = manifest_version(model_dir)
    return ["/", "/model/manifest.json", *(f"/model/v/{version}/{name}" for name in model_files(model_dir))]


def wrk_missing() -> str | None:
    """Why the load test cannot run on this machine, or None when it can."""
    return None if shutil.which("wrk") else WRK_MISSING


def run_wrk(base_url: str, paths: list[str], seconds: int, connections: int, threads: int = 2) -> dict:
    """One wrk run; returns its counts, errors and latency percentiles."""
    if not base_url.startswith(LOOPBACK):
        raise ValueError(f"the load test only targets 127.0.0.1, not {base_url}")
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError(WRK_MISSING)
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_SCRIPT)
        script.flush()
        command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
        command += ["-H", "Accept-Encoding: gzip", "-s", script.name, base_url, "--", *paths]
        output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    result = json.loads(output.strip().splitlines()[-1])
    result["errors"] = sum(result[k] for k in ("connect", "read", "write", "status", "timeout"))
    result["requests_per_s"] = result["requests"] / (result["duration_us"] / 1e6)
    result["mb_per_s"] = result["bytes"] / (result["duration_us"] / 1e6) / 1e6
    return result


def load_test(model_dir: Path, seconds: int, connections: int, runs: int) -> list[dict]:
    """Serve ``model_dir`` with SERVER_WORKERS uvicorn workers and run wrk ``runs`` times."""
    env = {"LESION_MODEL_DIR": str(model_dir), "WEB_CONCURRENCY": str(SERVER_WORKERS)}
    with run_server(env) as base_url:
        return [run_wrk(base_url, model_paths(model_dir), seconds, connections) for _ in range(runs)]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__)
    parser.add_argument("--model", type=Path, default=Path("model_artifacts"), help="model folder to serve")
    parser.add_argument("--seconds", type=int, default=30, help="duration of each run (default: 30)")
    parser.add_argument("--connections", type=int, default=64, help="concurrent connections (default: 64)")
    parser.add_argument("--runs", type=int, default=1, help="number of runs (default: 1)")
    args = parser.parse_args()
    if reason := wrk_missing():
        sys.exit(reason)
    for result in load_test(args.model, args.seconds, args.connections, args.runs):
        print(json.dumps(result))


if __name__ == "__main__":
    main()
