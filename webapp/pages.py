"""HTML pages (the classifier and the description of the lesion classes) and the service worker.

A page's content follows from its template and the site version, so its ETag is derived from
them: a revalidation that matches gets 304 without rendering the page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from webapp.config import Settings
from webapp.dependencies import get_settings, get_site_version, get_templates
from webapp.manifest import ManifestUnavailable, read_manifest
from webapp.site_version import SiteVersion

router = APIRouter(default_response_class=HTMLResponse)

TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
SiteVersionDep = Annotated[SiteVersion, Depends(get_site_version)]

SERVICE_WORKER = "js/sw.js"
SITE_VERSION_HEADER = "X-Site-Version"


def etag_matches(etag: str, if_none_match: str) -> bool:
    """Weak comparison of an ETag against an If-None-Match header."""
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag.removeprefix("W/") in tags


def _page(
    request: Request,
    templates: Jinja2Templates,
    site: SiteVersion,
    name: str,
    context: dict,
    status_code: int = 200,
) -> Response:
    version = site.current()
    headers = {SITE_VERSION_HEADER: version}
    if status_code == 200:
        headers["ETag"] = f'"{version}-{name.removesuffix(".html")}"'
        if_none_match = request.headers.get("if-none-match")
        if if_none_match and etag_matches(headers["ETag"], if_none_match):
            return Response(status_code=304, headers=headers)
    context = {**context, "site_version": version}
    return templates.TemplateResponse(request, name, context, status_code=status_code, headers=headers)


@router.get("/")
def index(request: Request, templates: TemplatesDep, site: SiteVersionDep) -> Response:
    """The classifier page; the browser fetches the model and does all the work."""
    return _page(request, templates, site, "index.html", {})


@router.get("/classes")
def classes(request: Request, templates: TemplatesDep, settings: SettingsDep, site: SiteVersionDep) -> Response:
    """The lesion classes the installed model knows, read from its manifest."""
    try:
        lesion_classes = read_manifest(settings.model_dir)["classes"]
    except ManifestUnavailable:
        context = {"classes": [], "model_missing": True}
        return _page(request, templates, site, "classes.html", context, status_code=503)
    return _page(request, templates, site, "classes.html", {"classes": lesion_classes, "model_missing": False})


@router.get("/sw.js", response_class=FileResponse)
def service_worker(settings: SettingsDep) -> FileResponse:
    """The service worker, served from the root so that its scope covers the whole site."""
    return FileResponse(
        settings.static_dir / SERVICE_WORKER, media_type="text/javascript", headers={"Cache-Control": "no-cache"}
    )
