"""The chat page at `/`: one HTML page, its stylesheet and script, all served by the app (no CDN,
no build step). The page asks `/v1/query/stream` and renders `[n]` markers as footnotes."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse

from api.errors import error_response

STATIC = Path(__file__).resolve().parents[1] / "static"
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript",
    ".svg": "image/svg+xml",
}
# The page runs only its own script and talks only to this origin; answer text can never become markup.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


def static_file(name: str) -> FileResponse:
    path = STATIC / name
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers=PAGE_HEADERS)


@router.get("/")
def chat_page() -> FileResponse:
    return static_file("index.html")


@router.get("/static/{name}", response_model=None)
def page_asset(name: str) -> FileResponse | JSONResponse:
    # Only the page's own files, by exact name: nothing else under the package is reachable.
    if name not in {p.name for p in STATIC.iterdir() if p.suffix in MEDIA_TYPES}:
        return error_response(404, "not_found", f"no asset {name!r}")
    return static_file(name)
