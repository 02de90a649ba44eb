# Multi-stage: the npm packages first, then a slim Python image with only the serving dependencies
# (fastapi, uvicorn, jinja2: no TensorFlow), a non-root user and a root-owned, read-only model folder.
#   docker build -t lesion-classifier .
#   docker run --rm --read-only -p 127.0.0.1:8000:8000 lesion-classifier
# Serve over HTTPS (a TLS reverse proxy) beyond localhost: the page checks the model files with Web
# Crypto, and browsers offer it, the camera and cross-origin isolation only in secure contexts.

FROM node:20-slim AS npm
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOST=0.0.0.0 PORT=8000 WEB_CONCURRENCY=2 \
    LESION_MODEL_DIR=/app/model_artifacts LESION_NODE_MODULES=/app/node_modules
WORKDIR /app
# Exactly pyproject's [project] dependencies (the serving set), without installing the project itself.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt \
    && useradd --system --no-create-home --uid 10001 lesion
# Only the TF.js files the page loads (webapp/staticfiles.py serves <package>/dist; package.json gives
# the version in the immutable /vendor/<name>@<version>/ URLs).
COPY --from=npm /build/node_modules/@tensorflow/tfjs/package.json node_modules/@tensorflow/tfjs/
COPY --from=npm /build/node_modules/@tensorflow/tfjs/dist/tf.min.js node_modules/@tensorflow/tfjs/dist/
COPY --from=npm /build/node_modules/@tensorflow/tfjs-backend-wasm/package.json node_modules/@tensorflow/tfjs-backend-wasm/
COPY --from=npm ["/build/node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js", \
                 "/build/node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm", \
                 "/build/node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm", \
                 "/build/node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm", \
                 "node_modules/@tensorflow/tfjs-backend-wasm/dist/"]
COPY webapp ./webapp
COPY templates ./templates
COPY static ./static
# Owned by root, so the app's user can read but not change the model.
COPY model_artifacts ./model_artifacts
USER lesion
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=2)"]
CMD ["python", "-m", "webapp"]
