# Multi-stage: the npm packages first, then a slim Python image with only the serving dependencies.
FROM node:20-slim AS npm
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    LESION_MODEL_DIR=/app/model_artifacts LESION_NODE_MODULES=/app/node_modules
WORKDIR /app
COPY pyproject.toml README.md ./
COPY webapp ./webapp
COPY trainer ./trainer
RUN pip install --no-cache-dir . && useradd --system --no-create-home --uid 10001 lesion
COPY templates ./templates
COPY static ./static
COPY --from=npm /app/node_modules ./node_modules
COPY --chmod=a-w model_artifacts ./model_artifacts
USER lesion
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["uvicorn", "webapp.main:app", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
