"""Response headers that keep the page self-contained, and a read-only request policy.

webapp.headers adds SECURITY_HEADERS to every response. Only GET and HEAD without a body are
accepted: the server has nothing to upload to, so anything else is refused before routing.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import Scope

# 'wasm-unsafe-eval' lets the TF.js WebAssembly backend compile its .wasm files; connect-src
# 'self' means the page cannot send a photo anywhere even if a script tried.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)

SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    # Cross-origin isolation (what SharedArrayBuffer and wasm threads need); every resource is same-origin.
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=(), payment=(), usb=()",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}

ALLOWED_METHODS = frozenset({"GET", "HEAD"})


def refusal(scope: Scope) -> PlainTextResponse | None:
    """The response for a request this read-only server refuses, or None to let it through."""
    if scope["method"] not in ALLOWED_METHODS:
        return PlainTextResponse("Method Not Allowed", status_code=405, headers={"Allow": "GET, HEAD"})
    headers = Headers(scope=scope)
    if headers.get("content-length", "0") != "0" or "transfer-encoding" in headers:
        return PlainTextResponse("This server accepts no request body", status_code=400)
    return None
