#!/usr/bin/env bash
# Set up the serving dependencies only (no TensorFlow) and run the app with the committed model.
# HOST, PORT and LESION_MODEL_DIR may be set in the environment.
set -euo pipefail
cd "$(dirname "$0")/.."

python="${PYTHON:-python3}"
[ -x .venv-serve/bin/python ] || "$python" -m venv .venv-serve
.venv-serve/bin/python -m pip install -q --upgrade pip
.venv-serve/bin/python -m pip install -q -e .
npm ci --omit=dev --no-audit --no-fund --loglevel=error
exec .venv-serve/bin/uvicorn webapp.main:app --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
