"""Who gets in: with `RAG_API_KEYS` set every `/v1/*` route needs a bearer token, the probes, metrics and
the chat page stay open by design, and CORS is closed unless origins are configured."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from llama_index.core.base.embeddings.base import BaseEmbedding

from api.app import create_app
from api.security import TokenChecker, bearer_token
from rag.service import QAService
from rag.settings import Settings

KEYS = ["first-secret-token", "second-secret-token"]
QUESTION = {"question": "What do AI engineers earn in Seattle?"}
# Every /v1 route with a request that would succeed given a valid token (feedback: an unknown id → 404).
V1_REQUESTS = [
    ("POST", "/v1/query", QUESTION),
    ("POST", "/v1/query/stream", QUESTION),
    ("POST", "/v1/retrieve", {"query": "salary"}),
    ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": QUESTION["question"]}]}),
    ("GET", "/v1/models", None),
    ("POST", "/v1/feedback", {"query_id": "unknown", "rating": "up"}),
]
OPEN_PATHS = ["/healthz", "/readyz", "/metrics", "/", "/openapi.json"]


def app_client(built: Settings, embed_model: BaseEmbedding, tmp_path: Path, **changes: object) -> TestClient:
    settings = built.model_copy(
        update={"state_path": tmp_path / "state.sqlite3", "rate_limit_per_minute": 0.0, **changes}
    )
    return TestClient(create_app(settings, QAService(settings, embed_model=embed_model)))


@pytest.fixture()
def guarded(built_settings: Settings, embed_model: BaseEmbedding, tmp_path: Path) -> Iterator[TestClient]:
    with app_client(built_settings, embed_model, tmp_path, api_keys=KEYS) as client:
        yield client


def call(client: TestClient, method: str, path: str, body: object, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return client.request(method, path, json=body, headers=headers or {})


@pytest.mark.parametrize(("method", "path", "body"), V1_REQUESTS, ids=[p for _, p, _ in V1_REQUESTS])
def test_v1_without_a_token_is_401_with_a_bearer_challenge(
    guarded: TestClient, method: str, path: str, body: object
) -> None:
    response = call(guarded, method, path, body)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    "header",
    [
        "Bearer not-a-key",
        "Bearer first-secret-toke",  # a prefix of a key
        "Bearer first-secret-token-and-more",
        "Basic Zmlyc3Qtc2VjcmV0LXRva2Vu",  # the key, in the wrong scheme
        "first-secret-token",
        "Bearer ",
        "Bearer FIRST-SECRET-TOKEN",
    ],
)
def test_a_wrong_token_is_401(guarded: TestClient, header: str) -> None:
    response = guarded.post("/v1/query", json=QUESTION, headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert set(response.json()) == {"error"}


@pytest.mark.parametrize(("method", "path", "body"), V1_REQUESTS, ids=[p for _, p, _ in V1_REQUESTS])
def test_any_configured_key_gets_in(guarded: TestClient, method: str, path: str, body: object) -> None:
    for key in KEYS:
        response = call(guarded, method, path, body, {"Authorization": f"bearer {key}"})
        assert response.status_code == (404 if path == "/v1/feedback" else 200), response.text


@pytest.mark.parametrize("path", OPEN_PATHS)
def test_probes_metrics_page_and_docs_stay_open(guarded: TestClient, path: str) -> None:
    assert guarded.get(path).status_code == 200


def test_without_keys_the_api_is_open(built_settings: Settings, embed_model: BaseEmbedding, tmp_path: Path) -> None:
    with app_client(built_settings, embed_model, tmp_path) as client:
        assert client.post("/v1/query", json=QUESTION).status_code == 200


def test_keys_come_from_a_comma_separated_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_API_KEYS", " first-secret-token, second-secret-token ,,")
    monkeypatch.setenv("RAG_CORS_ORIGINS", "https://chat.example.com,https://intranet.example.com")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.api_keys == KEYS
    assert settings.cors_origins == ["https://chat.example.com", "https://intranet.example.com"]


def test_the_checker_compares_every_key_and_finds_the_right_one() -> None:
    checker = TokenChecker(KEYS)
    assert checker.key_number("second-secret-token") == 1
    assert checker.key_number("second-secret-token ") is None
    assert checker.key_number(None) is None
    assert not TokenChecker([]).enabled
    assert bearer_token({"type": "http", "headers": [(b"authorization", b"Bearer  abc ")]}) == "abc"


def test_the_schema_documents_401_only_when_keys_are_set(
    guarded: TestClient, built_settings: Settings, embed_model: BaseEmbedding, tmp_path: Path
) -> None:
    assert "401" in guarded.get("/openapi.json").json()["paths"]["/v1/query"]["post"]["responses"]
    with app_client(built_settings, embed_model, tmp_path) as open_client:
        assert "401" not in open_client.get("/openapi.json").json()["paths"]["/v1/query"]["post"]["responses"]


# -- CORS --------------------------------------------------------------------------------------------------
PREFLIGHT = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}


def test_cors_is_closed_by_default(built_settings: Settings, embed_model: BaseEmbedding, tmp_path: Path) -> None:
    with app_client(built_settings, embed_model, tmp_path) as client:
        preflight = client.options("/v1/query", headers=PREFLIGHT)
        simple = client.post("/v1/query", json=QUESTION, headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in preflight.headers
    assert preflight.status_code >= 400
    assert simple.status_code == 200 and "access-control-allow-origin" not in simple.headers


def test_cors_lets_in_only_the_configured_origins(
    built_settings: Settings, embed_model: BaseEmbedding, tmp_path: Path
) -> None:
    allowed = "https://chat.example.com"
    with app_client(built_settings, embed_model, tmp_path, cors_origins=[allowed], api_keys=KEYS) as client:
        ok = client.options(
            "/v1/query", headers={**PREFLIGHT, "Origin": allowed, "Access-Control-Request-Headers": "authorization"}
        )
        bad = client.options("/v1/query", headers=PREFLIGHT)
        answered = client.post(
            "/v1/query", json=QUESTION, headers={"Origin": allowed, "Authorization": f"Bearer {KEYS[0]}"}
        )
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == allowed
    assert "authorization" in ok.headers["access-control-allow-headers"].lower()
    assert bad.status_code == 400 and "access-control-allow-origin" not in bad.headers
    assert answered.status_code == 200 and answered.headers["access-control-allow-origin"] == allowed
