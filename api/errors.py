"""Every error becomes the contract's shape, `{"error": {"code", "message"}}`, in this one place."""

from __future__ import annotations

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


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def describe_validation(exc: RequestValidationError) -> tuple[str, str]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return "invalid_json", "the request body is not valid JSON"
    parts = []
    for e in errors[:3]:
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {e.get('msg', 'invalid')}")
    return "invalid_request", "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def on_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        code, message = describe_validation(exc)
        return error_response(400 if code == "invalid_json" else 422, code, message)

    @app.exception_handler(RagError)
    async def on_domain_error(_: Request, exc: RagError) -> JSONResponse:
        status = next((s for kind, s in STATUS_OF if isinstance(exc, kind)), 400)
        return error_response(status, exc.code, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {400: "invalid_body", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
            exc.status_code, "http_error"
        )
        return error_response(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def on_unexpected(_: Request, exc: Exception) -> JSONResponse:
        return error_response(500, "internal_error", "the server failed to answer; the error has been logged")
