"""`/docs` works with no outside network: the page refers only to this app's own URLs, and each of them
answers with the asset Swagger UI needs (from the pinned package, not a CDN)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from llama_index.core.base.embeddings.base import BaseEmbedding

from api.app import create_app
from rag.service import QAService
from tests.conftest import make_settings


class LinkedURLs(HTMLParser):
    """Every URL the page loads: `src` and `href` attributes, and the `url:` Swagger UI reads the schema from."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls.extend(value for name, value in attrs if name in {"src", "href"} and value)

    def handle_data(self, data: str) -> None:
        self.urls.extend(re.findall(r"\burl:\s*'([^']*)'", data))


@pytest.fixture()
def client(tmp_path: Path, embed_model: BaseEmbedding) -> Iterator[TestClient]:
    settings = make_settings(tmp_path)  # no index needed for the docs
    with TestClient(create_app(settings, QAService(settings, embed_model=embed_model))) as client:
        yield client


def test_docs_load_only_local_assets_and_each_is_served(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert not re.search(r"https?://|//[a-z]", page.text, re.IGNORECASE), "the page names an outside URL"
    parser = LinkedURLs()
    parser.feed(page.text)
    urls = set(parser.urls)
    assert {"/openapi.json", "/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"} <= urls
    assert all(url.startswith("/") and not url.startswith("//") for url in urls), urls
    for url in urls:
        assert client.get(url).status_code == 200, url
    script = client.get("/docs/assets/swagger-ui-bundle.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert "SwaggerUIBundle" in script.text and len(script.content) > 500_000
    style = client.get("/docs/assets/swagger-ui.css")
    assert style.headers["content-type"].startswith("text/css") and ".swagger-ui" in style.text
    assert "validatorUrl" in page.text  # no outside validator is asked about the schema


def test_only_the_docs_assets_are_reachable(client: TestClient) -> None:
    for name in ("index.html", "..%2F..%2F__init__.py", "swagger-ui.js.map", "nope.js"):
        response = client.get(f"/docs/assets/{name}")
        assert response.status_code == 404, name
        assert response.json()["error"]["code"] == "not_found"
    assert client.get("/redoc").status_code == 404  # ReDoc would load its script from a CDN
    assert client.get("/docs/oauth2-redirect").status_code == 200
