"""HTML pages: the classifier and the description of the lesion classes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from webapp.config import Settings
from webapp.dependencies import get_settings, get_templates
from webapp.manifest import ManifestUnavailable, read_manifest

router = APIRouter(default_response_class=HTMLResponse)

TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


@router.get("/")
def index(request: Request, templates: TemplatesDep) -> HTMLResponse:
    """The classifier page; the browser fetches the model and does all the work."""
    return templates.TemplateResponse(request, "index.html")


@router.get("/classes")
def classes(request: Request, templates: TemplatesDep, settings: SettingsDep) -> HTMLResponse:
    """The lesion classes the installed model knows, read from its manifest."""
    try:
        lesion_classes = read_manifest(settings.model_dir)["classes"]
    except ManifestUnavailable:
        return templates.TemplateResponse(
            request, "classes.html", {"classes": [], "model_missing": True}, status_code=503
        )
    return templates.TemplateResponse(request, "classes.html", {"classes": lesion_classes, "model_missing": False})
