"""`GET /docs`: Swagger UI over the app's OpenAPI schema, its script, stylesheet and icon served by the app
itself from the `swagger-ui-bundle-v2` package, so the page works with no outside network (FastAPI's
default loads them from a CDN and is blank offline)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from swagger_ui_bundle import swagger_ui_path

from api.errors import error_response

DOCS_URL = "/docs"
ASSETS_URL = "/docs/assets"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
SWAGGER_UI = Path(str(swagger_ui_path))
# The files the page loads, by name, and nothing else of the package.
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
# The assets change only with the pinned package.
ASSET_HEADERS = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}


def docs_router(openapi_url: str, title: str) -> APIRouter:
    """The Swagger UI page for the schema at `openapi_url`, and the assets it loads."""
    router = APIRouter(include_in_schema=False)

    @router.get(DOCS_URL)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} — API docs",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon-32x32.png",
            oauth2_redirect_url=OAUTH2_REDIRECT_URL,
            # Swagger UI would otherwise ask an outside validator about the schema.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @router.get(OAUTH2_REDIRECT_URL)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @router.get(ASSETS_URL + "/{name}", response_model=None)
    def swagger_ui_asset(name: str) -> FileResponse | JSONResponse:
        if name not in ASSETS:
            return error_response(404, "not_found", f"no docs asset {name!r}")
        return FileResponse(SWAGGER_UI / name, media_type=ASSETS[name], headers=ASSET_HEADERS)

    return router
