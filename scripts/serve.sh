#!/usr/bin/env bash
# Set up the serving dependencies only (no TensorFlow) and run the app with the committed model.
# Environment: HOST (default 127.0.0.1), PORT (8000), WEB_CONCURRENCY (uvicorn workers, 1),
# LESION_MODEL_DIR (default model_artifacts/).
set -euo pipefail
cd "$(dirname "$0")/.."

python="${PYTHON:-python3}"
[ -x .venv-serve/bin/python ] || "$python" -m venv .venv-serve
.venv-serve/bin/python -m pip install -q --upgrade pip
.venv-serve/bin/python -m pip install -q -e .
npm ci --omit=dev --no-audit --no-fund --loglevel=error
exec .venv-serve/bin/python -m webapp
