"""Who gets in: bearer tokens on `/v1/*` when `RAG_API_KEYS` is set, and CORS closed unless configured.

`/healthz`, `/readyz`, `/metrics`, the chat page `/` and the OpenAPI docs stay open on purpose (probes and
scrapers carry no token; none of them reveals the guide's text or the query log). SECURITY.md says why.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import error_response

PROTECTED_PREFIX = "/v1/"


def _digest(token: str) -> bytes:
    # Comparing fixed-length digests keeps even the token's length out of the timing.
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


class TokenChecker:
    """Matches a bearer token against the configured keys in constant time."""

    def __init__(self, keys: list[str]) -> None:
        self._digests = [_digest(key) for key in keys]

    @property
    def enabled(self) -> bool:
        return bool(self._digests)

    def key_number(self, token: str | None) -> int | None:
        """The position of the matching key, or None; every key is compared, match or not."""
        if token is None:
            return None
        offered = _digest(token)
        found: int | None = None
        for number, expected in enumerate(self._digests):
            if hmac.compare_digest(offered, expected) and found is None:
                found = number
        return found


def bearer_token(scope: Scope) -> str | None:
    """The token of an `Authorization: Bearer …` header, or None when there is none."""
    header = Headers(scope=scope).get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def client_identity(scope: Scope, checker: TokenChecker) -> str:
    """Who is asking, for rate limits: the API key when a valid one is offered, else the client address.

    An unknown token never gets a bucket of its own, so making up tokens buys no extra requests."""
    if checker.enabled:
        number = checker.key_number(bearer_token(scope))
        if number is not None:
            return f"key:{number}"
    client = scope.get("client")
    return f"ip:{client[0]}" if client else "ip:unknown"


class BearerAuth:
    """ASGI middleware: with keys configured, every `/v1/*` request needs one of them as a bearer token."""

    def __init__(self, app: ASGIApp, checker: TokenChecker) -> None:
        self.app = app
        self.checker = checker

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.checker.enabled or not scope["path"].startswith(PROTECTED_PREFIX):
            await self.app(scope, receive, send)
            return
        token = bearer_token(scope)
        if self.checker.key_number(token) is not None:
            await self.app(scope, receive, send)
            return
        if token is None:
            challenge, message = 'Bearer realm="rag"', "this route needs an `Authorization: Bearer <token>` header"
        else:
            challenge, message = 'Bearer realm="rag", error="invalid_token"', "the bearer token is not valid"
        response = error_response(401, "unauthorized", message, {"WWW-Authenticate": challenge})
        await response(scope, receive, send)


def install_cors(app: FastAPI, origins: list[str]) -> None:
    """Let the listed browser origins call the API; with none listed, no CORS headers at all (closed)."""
    if not origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type"],
        allow_credentials=False,
        max_age=600,
    )
