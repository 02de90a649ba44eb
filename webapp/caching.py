"""Cache validators for responses that do not bring their own (pages, the health probe).

Static files get their Cache-Control and ETag from webapp.staticfiles; this middleware, placed
outside the gzip middleware so that it sees the bytes actually sent:

- sets ``Cache-Control: no-cache`` (revalidate on every use) where a response has none;
- gives complete 200 GET responses without an ETag one (sha256 of the body) and answers
  ``If-None-Match`` with 304;
- marks a static file's ETag weak when the body was compressed on the fly, as nginx does: that
  ETag names the file, not the compressed bytes.
"""

from __future__ import annotations

import hashlib

from starlette.datastructures import Headers, MutableHeaders
from starlette.staticfiles import NotModifiedResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_CACHE_CONTROL = "no-cache"


def etag_matches(etag: str, if_none_match: str) -> bool:
    """Weak comparison of an ETag against an If-None-Match header."""
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag.removeprefix("W/") in tags


class ConditionalResponseMiddleware:
    """Cache-Control default, body ETags and 304s for responses that lack them (see the module doc)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if_none_match = Headers(scope=scope).get("if-none-match")
        start: Message | None = None

        async def send_with_validators(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Cache-Control", DEFAULT_CACHE_CONTROL)
                etag = headers.get("etag")
                if etag is not None and "content-encoding" in headers and not etag.startswith("W/"):
                    headers["ETag"] = f"W/{etag}"
                if etag is None and message["status"] == 200 and scope["method"] == "GET":
                    start = message  # hold it until the body is known
                    return
                await send(message)
            elif start is not None and message["type"] == "http.response.body":
                held, start = start, None
                if message.get("more_body", False):  # a stream: leave it alone
                    await send(held)
                    await send(message)
                    return
                etag = f'"{hashlib.sha256(message.get("body", b"")).hexdigest()[:32]}"'
                headers = MutableHeaders(scope=held)
                headers["ETag"] = etag
                if if_none_match and etag_matches(etag, if_none_match):
                    await NotModifiedResponse(headers)(scope, receive, send)
                    return
                await send(held)
                await send(message)
            else:
                await send(message)

        await self.app(scope, receive, send_with_validators)
