"""The protections in front of every route, registered in one place because their order matters, and
documented in the OpenAPI schema so clients (and the fuzzer) know every status they can get."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from api.limits import (
    MODEL_PATHS,
    RATE_LIMITED_PREFIX,
    AnswerGuard,
    AnswerSlots,
    BodySizeLimit,
    RateLimit,
    TokenBuckets,
)
from api.schemas import ErrorResponse
from api.security import PROTECTED_PREFIX, BearerAuth, TokenChecker, client_identity, install_cors
from rag.settings import Settings


def install_protections(app: FastAPI, settings: Settings) -> None:
    """Add the limits and the access checks. Starlette runs the middleware added last first, so from the
    outside in a request meets: CORS, the body limit, the rate limit, the bearer check, the model's slots."""
    checker = TokenChecker(settings.api_keys)
    # On app.state so that metrics and tests can see how many answers run and wait.
    app.state.answer_slots = AnswerSlots(settings.max_concurrent_answers, settings.max_queued_answers)
    app.add_middleware(AnswerGuard, slots=app.state.answer_slots, timeout=settings.request_timeout_seconds)
    app.add_middleware(BearerAuth, checker=checker)
    if settings.rate_limit_per_minute > 0:
        # Before the bearer check, so guessing tokens is throttled too.
        buckets = TokenBuckets(settings.rate_limit_per_minute, settings.rate_limit_burst)
        app.add_middleware(RateLimit, buckets=buckets, identify=lambda scope: client_identity(scope, checker))
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    install_cors(app, settings.cors_origins)
    document_protections(app, settings)


ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}


def protection_responses(path: str, method: str, settings: Settings) -> dict[str, str]:
    """The statuses the protections may answer `method path` with, and why."""
    found = {}
    if method in {"post", "put", "patch"}:
        found["400"] = "The body could not be read (bad Content-Length, not UTF-8, not JSON)"
        found["413"] = f"The body is larger than {settings.max_body_bytes} bytes"
    if path.startswith(PROTECTED_PREFIX) and settings.api_keys:
        found["401"] = "A valid `Authorization: Bearer <token>` header is needed"
    if path.startswith(RATE_LIMITED_PREFIX) and settings.rate_limit_per_minute > 0:
        found["429"] = "Too many requests from this client; see Retry-After"
    if method == "post" and path in MODEL_PATHS:
        found["503"] = "Overloaded (see Retry-After) or the index is unavailable"
        found["504"] = "No answer within the request time limit"
    return found


def document_protections(app: FastAPI, settings: Settings) -> None:
    """Wrap `app.openapi` so every operation lists the error responses the protections can send."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        if "ErrorResponse" not in components:
            error_schema = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(error_schema.pop("$defs", {}))
            components["ErrorResponse"] = error_schema
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                for status, why in protection_responses(path, method, settings).items():
                    responses.setdefault(status, {"description": why, "content": ERROR_CONTENT})
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
