"""Every error becomes the contract's shape, `{"error": {"code", "message"}}`, in this one place. Each also
carries OpenAI's two other fields, `type` and `param` (the field at fault, or null), so that the official
`openai` client reads `e.type` and `e.param` from this service as from OpenAI's. A field is written one way
everywhere, as a caller would write it: `messages[0].content`.

The OpenAI-compatible route answers bad input as OpenAI does, with 400 (the `openai` client raises
`BadRequestError`, which is what code written against OpenAI catches), where the service's own routes keep 422."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag.errors import ConfigurationError, IndexMissing, IndexUnavailable, InvalidQuestion, RagError

# The routes that speak OpenAI's wire format, and the legacy one a client may call instead (llama-index's
# `OpenAILike` does unless told `is_chat_model=True`).
OPENAI_ROUTES = frozenset({"/v1/chat/completions"})
LEGACY_COMPLETIONS = "/v1/completions"
LEGACY_COMPLETIONS_MESSAGE = (
    "this service does not serve the legacy Completions API (POST /v1/completions); ask POST "
    "/v1/chat/completions with `messages` instead (llama-index's OpenAILike: set is_chat_model=True)"
)

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


def error_field(error: dict[str, object]) -> str:
    """The field an error is about: where it was found, or, for a rule about the body as a whole ("one of
    two fields"), the field its validator names in `ctx["field"]`."""
    path = field_path(error.get("loc", ()))  # type: ignore[arg-type]
    ctx = error.get("ctx")
    if path == "body" and isinstance(ctx, dict) and isinstance(ctx.get("field"), str):
        return str(ctx["field"])
    return path


def describe_validation(exc: RequestValidationError, openai_route: bool = False) -> tuple[str, str, str | None]:
    """The code, the message and the first field at fault of a request that failed validation. On the
    OpenAI-compatible route a field it does not know is named as OpenAI names it."""
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return "invalid_json", "the request body is not valid JSON", None
    paths = [error_field(e) for e in errors]
    parts = []
    for path, e in zip(paths[:3], errors[:3]):
        if openai_route and e.get("type") == "extra_forbidden":
            parts.append(f"Unrecognized request argument supplied: {path}")
        else:
            parts.append(f"{path}: {e.get('msg', 'invalid')}")
    param = paths[0] if paths and paths[0] != "body" else None
    return "invalid_request", "; ".join(parts), param


def is_openai_route(request: Request) -> bool:
    return request.url.path in OPENAI_ROUTES


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        openai_route = is_openai_route(request)
        code, message, param = describe_validation(exc, openai_route)
        status = 400 if code == "invalid_json" or openai_route else 422
        return error_response(status, code, message, param=param)

    @app.exception_handler(RagError)
    async def on_domain_error(request: Request, exc: RagError) -> JSONResponse:
        status = next((s for kind, s in STATUS_OF if isinstance(exc, kind)), 400)
        if status == 422 and is_openai_route(request):
            status = 400
        return error_response(status, exc.code, str(exc), param=exc.param)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {400: "invalid_body", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
            exc.status_code, "http_error"
        )
        message = str(exc.detail)
        if exc.status_code == 404 and request.url.path.rstrip("/") == LEGACY_COMPLETIONS:
            message = LEGACY_COMPLETIONS_MESSAGE
        return error_response(exc.status_code, code, message, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def on_unexpected(_: Request, exc: Exception) -> JSONResponse:
        return error_response(500, "internal_error", "the server failed to answer; the error has been logged")
