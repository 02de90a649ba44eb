"""The one middleware that shapes every response's headers, placed outside the gzip middleware so
that it sees what is actually sent:

- refuses what this read-only server does not accept (webapp.security.refusal);
- adds SECURITY_HEADERS, and ``Cache-Control: no-cache`` (revalidate on every use) where a
  response brings no Cache-Control of its own;
- marks an ETag weak when the body was compressed on the fly, as nginx does: a static file's
  ETag names the file, not the compressed bytes;
- answers HEAD for every GET route: the request is routed as GET and the body is dropped, so the
  headers (Content-Length, Content-Encoding, ETag) are exactly those of the GET.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from webapp.security import SECURITY_HEADERS, refusal

DEFAULT_CACHE_CONTROL = "no-cache"


def complete_headers(message: Message) -> None:
    """Add the security headers, the default Cache-Control and a weak ETag where the body is compressed."""
    headers = MutableHeaders(scope=message)
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)
    headers.setdefault("Cache-Control", DEFAULT_CACHE_CONTROL)
    etag = headers.get("etag")
    if etag is not None and "content-encoding" in headers and not etag.startswith("W/"):
        headers["ETag"] = f"W/{etag}"


class HeadersMiddleware:
    """Refuse writes and bodies, complete every response's headers, answer HEAD (see the module doc)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                complete_headers(message)
            elif head and message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b""}
            await send(message)

        response = refusal(scope)
        if response is not None:
            await response(scope, receive, send_with_headers)
            return
        await self.app({**scope, "method": "GET"} if head else scope, receive, send_with_headers)
