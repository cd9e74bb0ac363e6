"""`POST /v1/feedback` on the real app: ratings tied to an answer's query_id, in the shared state store."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from rag.operations.state import StateStore


def ask(client: TestClient) -> str:
    response = client.post("/v1/query", json={"question": "What do AI engineers earn in Seattle?"})
    assert response.status_code == 200
    return str(response.json()["query_id"])


def stored_feedback(client: TestClient) -> list[tuple[object, ...]]:
    store: StateStore = client.app.state.store  # type: ignore[attr-defined]
    return store.rows("SELECT query_id, rating, comment, source FROM feedback ORDER BY id")


def test_a_rating_of_an_answer_is_stored(client: TestClient) -> None:
    query_id = ask(client)
    up = client.post("/v1/feedback", json={"query_id": query_id, "rating": "up"})
    down = client.post("/v1/feedback", json={"query_id": query_id, "rating": "down", "comment": "  Wrong city  "})
    assert up.status_code == 200
    assert up.json() == {"recorded": True, "query_id": query_id, "rating": "up"}
    assert down.status_code == 200
    assert stored_feedback(client)[-2:] == [(query_id, "up", None, "http"), (query_id, "down", "Wrong city", "http")]


def test_an_unknown_query_id_is_404_in_the_error_shape(client: TestClient) -> None:
    before = stored_feedback(client)
    response = client.post("/v1/feedback", json={"query_id": "0" * 32, "rating": "up"})
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found" and "0" * 32 in error["message"]
    assert stored_feedback(client) == before


@pytest.mark.parametrize(
    "body",
    [
        {"rating": "sideways"},
        {"rating": "UP"},
        {"rating": 1},
        {"rating": None},
        {"rating": "up", "comment": 5},
        {"rating": "up", "stars": 5},
        {},
    ],
)
def test_a_bad_rating_is_refused_with_4xx(client: TestClient, body: dict[str, object]) -> None:
    query_id = ask(client)
    before = stored_feedback(client)
    response = client.post("/v1/feedback", json={"query_id": query_id, **body})
    assert 400 <= response.status_code < 500
    assert set(response.json()["error"]) == {"code", "message", "type", "param"}
    assert stored_feedback(client) == before


def test_a_body_that_is_not_json_is_400(client: TestClient) -> None:
    response = client.post("/v1/feedback", content=b"rating=up", headers={"Content-Type": "application/json"})
    assert response.status_code == 400


def test_the_route_is_documented(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/v1/feedback"]["post"]
    assert {"200", "404", "422"} <= set(operation["responses"])
