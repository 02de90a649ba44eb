"""The FastAPI application: GET/HEAD-only pages plus static mounts for the page, model and TF.js.

Run with ``python -m webapp`` (HOST, PORT, WEB_CONCURRENCY, LESION_MODEL_DIR) or
``uvicorn webapp.main:app``. There is deliberately no upload or inference endpoint:
classification happens in the browser.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.templating import Jinja2Templates
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware

from webapp import health, model_card, pages
from webapp.config import Settings
from webapp.headers import HeadersMiddleware
from webapp.site_version import SiteVersion
from webapp.staticfiles import mount_static, vendor_prefixes

# Model weight shards barely compress and are large: gzip would cost CPU on every download.
NOT_COMPRESSED = (*DEFAULT_EXCLUDED_CONTENT_TYPES, "application/octet-stream")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application; settings default to the environment (see webapp.config)."""
    settings = settings or Settings.from_env()
    # No /docs or /redoc: FastAPI's versions load Swagger UI from a CDN.
    app = FastAPI(title="Skin lesion classifier", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.site_version = SiteVersion(settings)
    app.state.templates = Jinja2Templates(directory=settings.templates_dir)
    # Templates may write {{ vendor["tfjs"] }}/tf.min.js for the immutable, versioned URL.
    app.state.templates.env.globals["vendor"] = vendor_prefixes(settings)
    # The last middleware added is the outermost: the headers middleware sees gzip's output.
    app.add_middleware(GZipMiddleware, compresslevel=6, exclude_content_types=NOT_COMPRESSED)
    app.add_middleware(HeadersMiddleware)
    app.include_router(pages.router)
    app.include_router(health.router)
    app.include_router(model_card.router)
    mount_static(app, settings)
    return app


app = create_app()
