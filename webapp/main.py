"""The FastAPI application: GET-only pages plus static mounts for the page, model and TF.js.

Run with ``uvicorn webapp.main:app``. There is deliberately no upload or inference endpoint:
classification happens in the browser.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.templating import Jinja2Templates

from webapp import health, pages
from webapp.config import Settings
from webapp.security import SecurityHeadersMiddleware
from webapp.staticfiles import mount_static


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application; settings default to the environment (see webapp.config)."""
    settings = settings or Settings.from_env()
    # No /docs or /redoc: FastAPI's versions load Swagger UI from a CDN.
    app = FastAPI(title="Skin lesion classifier", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.templates = Jinja2Templates(directory=settings.templates_dir)
    app.add_middleware(SecurityHeadersMiddleware)
    app.include_router(pages.router)
    app.include_router(health.router)
    mount_static(app, settings)
    return app


app = create_app()
