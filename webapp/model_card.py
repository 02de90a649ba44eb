"""The /model-card page: the installed model's card, as ``trainer build`` wrote it (model-card.json).

The card is shown only when it names the installed manifest's sha256, so a card left over from another
model is never passed off as this one's.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from webapp.config import Settings
from webapp.dependencies import get_settings, get_site_version, get_templates
from webapp.manifest import MANIFEST_NAME
from webapp.pages import _page
from webapp.site_version import SiteVersion

CARD_NAME = "model-card.json"

router = APIRouter(default_response_class=HTMLResponse)


class CardUnavailable(RuntimeError):
    """No card for the installed model; the message says why."""


def read_card(settings: Settings) -> dict:
    """The installed model's card, checked against the installed manifest."""
    try:
        manifest = (settings.model_dir / MANIFEST_NAME).read_bytes()
    except OSError as err:
        raise CardUnavailable("No model is installed yet.") from err
    try:
        card = json.loads((settings.model_dir / CARD_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise CardUnavailable("The installed model was built without a model card.") from err
    if card.get("manifest_sha256") != hashlib.sha256(manifest).hexdigest():
        raise CardUnavailable("The model card on the server describes another model than the installed one.")
    return card


@router.get("/model-card")
def model_card(
    request: Request,
    templates: Annotated[Jinja2Templates, Depends(get_templates)],
    settings: Annotated[Settings, Depends(get_settings)],
    site: Annotated[SiteVersion, Depends(get_site_version)],
) -> Response:
    """What the model is for, what it learnt from, how it was tested and where it fails."""
    try:
        card = read_card(settings)
    except CardUnavailable as err:
        return _page(request, templates, site, "model_card.html", {"card": None, "problem": str(err)}, 503)
    return _page(request, templates, site, "model_card.html", {"card": card, "problem": None})
