"""Who may use the local stack's control endpoints (`/__local/...`: fault switches, rule triggers).

They change the running stack and have no AWS counterpart, so nobody but the stack's owner may call
them: not another user of the machine, and not a web page the owner happens to visit (a page can
send a cross-site `text/plain` POST to any loopback port without a preflight). Each request must
carry the stack's own secret in `X-Local-Stack-Secret`: the supervisor makes it at start and writes
it 0600 to the state directory, where only local tools read it. A custom header cannot be sent
cross-site without a CORS preflight, which this server never grants; requests a browser marks as
its own (`Origin`, `Sec-Fetch-Site` other than `none`) are refused outright, and a body must be
JSON. The health check, which changes nothing, stays open for the supervisor's probes.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

SECRET_HEADER = "X-Local-Stack-Secret"  # noqa: S105 - a header name
CONTROL_PREFIX = "/__local/"
OPEN_READS = frozenset({"/__local/health"})
SECRET_FILE = "control-secret"  # noqa: S105 - a file name

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def _refused(status: int, message: str) -> web.Response:
    return web.json_response({"message": message}, status=status)


def refusal(request: web.Request, secret: str) -> web.Response | None:
    """Why a control request is refused, or None to let it through."""
    if request.method == "GET" and request.path in OPEN_READS:
        return None
    if "Origin" in request.headers or request.headers.get("Sec-Fetch-Site", "none") != "none":
        return _refused(403, "Control endpoints refuse requests from web pages")
    offered = request.headers.get(SECRET_HEADER, "")
    if not secret or not hmac.compare_digest(offered.encode(), secret.encode()):
        return _refused(403, f"Control endpoints need the stack's secret in {SECRET_HEADER}")
    if request.method == "POST" and request.can_read_body and request.content_type != "application/json":
        return _refused(415, "Control endpoints take application/json")
    return None


def control_guard(secret: str) -> Middleware:
    """An aiohttp middleware that applies `refusal` to every `/__local/` path."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(CONTROL_PREFIX):
            refused = refusal(request, secret)
            if refused is not None:
                return refused
        return await handler(request)

    return guard
