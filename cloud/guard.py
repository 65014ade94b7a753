"""The control API's front door: an ASGI middleware that runs before any route, so that nothing
an unauthenticated client sends is read, parsed or kept.

For every HTTP request it

1. adds security headers to the response (``nosniff``, no framing, no referrer, no caching of
   API answers, HSTS, and a content security policy on the dashboard's pages);
2. on protected paths (``/api/…`` and ``/metrics``) authenticates the caller from its
   ``Authorization: Bearer`` header, or, on the feed only, from a short-lived ``?feed_token=``
   (``cloud.auth.FeedTokens``), *before the body is read*: an unknown token is answered 401,
   logged with the client's address, and counted; a client past its failures in the window
   (``cloud.auth.FailureLimit``) is answered 429 with ``Retry-After`` whatever it sends;

The body's size is capped behind it by Starlette's own ``RequestBodyLimitMiddleware``
(``FastAPI(max_body_size=...)``): a larger ``Content-Length`` is answered 413 before reading,
and a body without one is cut off with 413 at the cap as it streams in.

The authenticated ``Holder`` and the client's address are left in the request's state
(``request.state.holder``, ``request.state.client``) for the routes' role checks.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cloud.auth import FailureLimit, FeedTokens, Holder, TokenBook

__all__ = ["FEED_PATH", "ApiGuard"]

log = logging.getLogger(__name__)

FEED_PATH = "/api/v1/feed"
_PROTECTED = ("/api/", "/metrics")
_COMMON_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"strict-transport-security", b"max-age=31536000"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
# The dashboard loads only its own files; Leaflet sets inline styles on its map panes.
_PAGE_CSP = (
    b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    b"frame-ancestors 'none'; form-action 'self'"
)


class ApiGuard:
    """See the module. ``clock`` gives ns since the Unix epoch."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        tokens: TokenBook,
        feed_tokens: FeedTokens,
        failures: FailureLimit,
        clock: Callable[[], int],
    ) -> None:
        self.app = app
        self.tokens = tokens
        self.feed_tokens = feed_tokens
        self.failures = failures
        self.clock = clock
        self.refused: dict[str, int] = {"unauthenticated": 0, "rate_limited": 0}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        send = self._with_headers(send, path)
        client = (scope.get("client") or ("unknown", 0))[0]
        if path.startswith(_PROTECTED):
            now = self.clock()
            if self.failures.blocked(client, now):
                self.refused["rate_limited"] += 1
                retry = str(math.ceil(self.failures.window_s))
                await _answer(
                    send,
                    429,
                    "too many failed authentications from this address; try again later",
                    [(b"retry-after", retry.encode())],
                )
                return
            holder = self._authenticate(scope, path, now)
            if holder is None:
                self.refused["unauthenticated"] += 1
                n = self.failures.failed(client, now)
                log.warning(
                    "control API: authentication failed from %s (%s %s; %d in the window)",
                    client,
                    scope.get("method", "?"),
                    path,
                    n,
                )
                await _answer(
                    send,
                    401,
                    "a valid bearer token is required",
                    [(b"www-authenticate", b"Bearer")],
                )
                return
            state = scope.setdefault("state", {})
            state["holder"] = holder
            state["client"] = client
        await self.app(scope, receive, send)

    def _authenticate(self, scope: Scope, path: str, now_ns: int) -> Holder | None:
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                text = value.decode("latin-1")
                if text[:7].lower() == "bearer ":
                    return self.tokens.find(text[7:].strip())
                return None
        if path == FEED_PATH:
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            feed = query.get("feed_token", [""])[0]
            return self.feed_tokens.check(feed, now_ns) if feed else None
        return None

    def _with_headers(self, send: Send, path: str) -> Send:
        extra = list(_COMMON_HEADERS)
        if path.startswith(_PROTECTED):
            extra.append((b"cache-control", b"no-store"))
        elif not path.startswith(("/docs", "/redoc")):  # FastAPI's docs load their own scripts
            extra.append((b"content-security-policy", _PAGE_CSP))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        return with_headers


async def _answer(
    send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
