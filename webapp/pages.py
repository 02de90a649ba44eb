"""HTML pages (the classifier and the description of the lesion classes) and the service worker."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from webapp.config import Settings
from webapp.dependencies import get_settings, get_templates
from webapp.manifest import MANIFEST_NAME, ManifestUnavailable, read_manifest

router = APIRouter(default_response_class=HTMLResponse)

TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
SettingsDep = Annotated[Settings, Depends(get_settings)]

SERVICE_WORKER = "js/sw.js"
SITE_VERSION_HEADER = "X-Site-Version"


def site_version(settings: Settings) -> str:
    """Hash of everything the service worker stores: the page's files, the model manifest (which lists
    the model files' hashes) and the TF.js package versions. It changes whenever any of them does."""
    digest = hashlib.sha256()
    files = sorted(p for p in settings.static_dir.rglob("*") if p.is_file())
    files += [
        settings.model_dir / MANIFEST_NAME,
        settings.tfjs_dist.parent / "package.json",
        settings.tfjs_wasm_dist.parent / "package.json",
    ]
    for path in files:
        digest.update(path.as_posix().encode())
        digest.update(path.read_bytes() if path.is_file() else b"-")
    return digest.hexdigest()[:16]


def _page(
    request: Request, templates: Jinja2Templates, settings: Settings, name: str, context: dict, status_code: int = 200
) -> HTMLResponse:
    version = site_version(settings)
    response = templates.TemplateResponse(request, name, {**context, "site_version": version}, status_code=status_code)
    response.headers[SITE_VERSION_HEADER] = version
    return response


@router.get("/")
def index(request: Request, templates: TemplatesDep, settings: SettingsDep) -> HTMLResponse:
    """The classifier page; the browser fetches the model and does all the work."""
    return _page(request, templates, settings, "index.html", {})


@router.get("/classes")
def classes(request: Request, templates: TemplatesDep, settings: SettingsDep) -> HTMLResponse:
    """The lesion classes the installed model knows, read from its manifest."""
    try:
        lesion_classes = read_manifest(settings.model_dir)["classes"]
    except ManifestUnavailable:
        return _page(
            request, templates, settings, "classes.html", {"classes": [], "model_missing": True}, status_code=503
        )
    return _page(request, templates, settings, "classes.html", {"classes": lesion_classes, "model_missing": False})


@router.get("/sw.js", response_class=FileResponse)
def service_worker(settings: SettingsDep) -> FileResponse:
    """The service worker, served from the root so that its scope covers the whole site."""
    return FileResponse(
        settings.static_dir / SERVICE_WORKER, media_type="text/javascript", headers={"Cache-Control": "no-cache"}
    )
