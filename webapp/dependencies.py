"""Request-scoped accessors for objects that create_app stores on the application."""

from __future__ import annotations

from fastapi import Request
from fastapi.templating import Jinja2Templates

from webapp.config import Settings
from webapp.site_version import SiteVersion


def get_settings(request: Request) -> Settings:
    """The Settings the application was created with."""
    return request.app.state.settings


def get_templates(request: Request) -> Jinja2Templates:
    """The Jinja2 environment for templates/."""
    return request.app.state.templates


def get_site_version(request: Request) -> SiteVersion:
    """The site version, whose app part was computed when the application was created."""
    return request.app.state.site_version
