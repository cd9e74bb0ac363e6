"""Every error becomes the contract's shape, `{"error": {"code", "message"}}`, in this one place. Each also
carries OpenAI's two other fields, `type` and `param` (the field at fault, or null), so that the official
`openai` client reads `e.type` and `e.param` from this service as from OpenAI's. A field is written one way
everywhere, as a caller would write it: `messages[0].content`."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag.errors import ConfigurationError, IndexMissing, IndexUnavailable, InvalidQuestion, RagError

STATUS_OF: list[tuple[type[RagError], int]] = [
    (InvalidQuestion, 422),
    (IndexMissing, 503),
    (IndexUnavailable, 503),
    (ConfigurationError, 503),
]


def error_type(status: int) -> str:
    """OpenAI's `type` for a status: what kind of failure, for clients that branch on it."""
    if status == 401:
        return "authentication_error"
    if status == 403:
        return "permission_error"
    if status == 429:
        return "rate_limit_error"
    return "server_error" if status >= 500 else "invalid_request_error"


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, param: str | None = None
) -> JSONResponse:
    error = {"code": code, "message": message, "type": error_type(status), "param": param}
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def field_path(loc: Sequence[int | str]) -> str:
    """A validation error's location as a caller writes it: `("body", "messages", 0, "role")` is
    `messages[0].role`."""
    path = ""
    for part in loc:
        if part == "body" and not path:
            continue
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


def describe_validation(exc: RequestValidationError) -> tuple[str, str, str | None]:
    """The code, the message and the first field at fault of a request that failed validation."""
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return "invalid_json", "the request body is not valid JSON", None
    paths = [field_path(e.get("loc", ())) for e in errors]
    parts = [f"{path}: {e.get('msg', 'invalid')}" for path, e in zip(paths[:3], errors[:3])]
    param = paths[0] if paths and paths[0] != "body" else None
    return "invalid_request", "; ".join(parts), param


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def on_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        code, message, param = describe_validation(exc)
        return error_response(400 if code == "invalid_json" else 422, code, message, param=param)

    @app.exception_handler(RagError)
    async def on_domain_error(_: Request, exc: RagError) -> JSONResponse:
        status = next((s for kind, s in STATUS_OF if isinstance(exc, kind)), 400)
        return error_response(status, exc.code, str(exc), param=exc.param)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {400: "invalid_body", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
            exc.status_code, "http_error"
        )
        return error_response(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def on_unexpected(_: Request, exc: Exception) -> JSONResponse:
        return error_response(500, "internal_error", "the server failed to answer; the error has been logged")
