"""`/v1/query` and `/v1/retrieve` end to end on the real index."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from rag.service import QAService


def test_seattle_salary_is_answered_with_an_exact_citation(client: TestClient, guide_text: str) -> None:
    response = client.post("/v1/query", json={"question": "What do AI engineers earn in Seattle?"})
    assert response.status_code == 200
    body = response.json()
    assert body["answerable"] is True
    assert "$160,000 - $220,000" in body["answer"]
    first_line = body["answer"].splitlines()[0]
    assert "$160,000 - $220,000" in first_line and first_line.endswith("[1]")
    citation = body["citations"][0]
    assert citation["n"] == 1
    assert citation["section"].endswith("> Regional Salary Data")
    assert citation["quote"].startswith("Seattle $160,000 - $220,000")
    assert citation["source"] == "ai-engineer-job-description-2026.txt"
    assert guide_text[citation["start"] : citation["end"]] == citation["quote"]


MARKER = re.compile(r"\[(\d+)\]")


@pytest.mark.parametrize(
    "question",
    [
        "Give me an interview question on regularization",
        "Is a PhD required?",
        "Austin or Denver: which pays more?",
        "What are the red flags for senior engineers?",
    ],
)
def test_every_marker_resolves_and_every_quote_is_exact(client: TestClient, guide_text: str, question: str) -> None:
    body = client.post("/v1/query", json={"question": question}).json()
    numbers = [c["n"] for c in body["citations"]]
    markers = {int(n) for n in MARKER.findall(body["answer"])}
    assert numbers and len(set(numbers)) == len(numbers)
    # Both ways: each citation is referenced in the answer, and each [n] of the answer has its citation.
    assert set(numbers) <= markers, (numbers, body["answer"])
    assert markers <= set(numbers), (numbers, body["answer"])
    for citation in body["citations"]:
        assert guide_text[citation["start"] : citation["end"]] == citation["quote"]


@pytest.mark.parametrize(
    "marked_up",
    [
        "<img src=x onerror=alert(1)> what is the salary in Boston?",
        "<script>alert('x')</script>what is the salary in Boston?",
        "what is the <b>salary</b> in Boston?<!-- hi -->",
    ],
)
def test_markup_in_a_question_is_stripped_before_retrieval(client: TestClient, marked_up: str) -> None:
    plain = client.post("/v1/query", json={"question": "what is the salary in Boston?"}).json()
    marked = client.post("/v1/query", json={"question": marked_up}).json()
    assert plain["answerable"] is True and "$145,000 - $195,000" in plain["answer"]
    assert (marked["answer"], marked["citations"]) == (plain["answer"], plain["citations"])
    # Retrieval too: the same ranked chunks.
    ranked = [r["chunk_id"] for r in client.post("/v1/retrieve", json={"query": marked_up}).json()["results"]]
    plain_ranked = client.post("/v1/retrieve", json={"query": "what is the salary in Boston?"}).json()["results"]
    assert ranked == [r["chunk_id"] for r in plain_ranked]


def test_a_question_of_markup_only_is_empty(client: TestClient) -> None:
    response = client.post("/v1/query", json={"question": "<img src=x onerror=alert(1)>"})
    assert response.status_code == 422 and "must not be empty" in response.json()["error"]["message"]


def test_a_less_than_sign_is_not_markup(service: QAService) -> None:
    assert service.check_question(" salary for < 2 years, <3 ") == "salary for < 2 years, <3"


def test_off_topic_question_abstains(client: TestClient) -> None:
    body = client.post("/v1/query", json={"question": "What is a good recipe for banana bread?"}).json()
    assert body["answerable"] is False
    assert body["citations"] == []
    assert "does not cover" in body["answer"]


def test_retrieve_returns_exact_ranked_chunks(client: TestClient, guide_text: str) -> None:
    body = client.post("/v1/retrieve", json={"query": "salary in Austin", "top_k": 3}).json()
    assert len(body["results"]) == 3
    assert body["results"][0]["text"].startswith("Austin")
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)
    for result in body["results"]:
        assert guide_text[result["start"] : result["end"]] == result["text"]


@pytest.mark.parametrize(
    "body",
    [
        {"question": ""},
        {"question": "   \n\t"},
        {"question": "why " * 2000},
        {"question": 42},
        {"question": ["a"]},
        {},
        {"question": "ok?", "top_k": 0},
        {"question": "ok?", "top_k": "3"},
    ],
)
def test_bad_questions_get_4xx_in_the_error_shape(client: TestClient, body: dict[str, object]) -> None:
    response = client.post("/v1/query", json=body)
    assert 400 <= response.status_code < 500
    error = response.json()["error"]
    assert error["code"] and error["message"]


def test_malformed_json_is_a_400(client: TestClient) -> None:
    response = client.post("/v1/query", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True


def test_missing_index_is_not_ready_and_queries_say_why(tmp_path, embed_model) -> None:  # type: ignore[no-untyped-def]
    from api.app import create_app
    from rag.service import QAService
    from tests.conftest import make_settings

    settings = make_settings(tmp_path)
    with TestClient(create_app(settings, QAService(settings, embed_model=embed_model))) as empty:
        ready = empty.get("/readyz")
        assert ready.status_code == 503 and "rag ingest" in ready.json()["reason"]
        response = empty.post("/v1/query", json={"question": "What do AI engineers earn in Seattle?"})
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "index_missing"


# -- one way of asking on both routes -----------------------------------------------------------------------
SEATTLE = "What do AI engineers earn in Seattle?"


def test_query_takes_query_as_retrieve_does(client: TestClient) -> None:
    canonical = client.post("/v1/query", json={"question": SEATTLE}).json()
    aliased = client.post("/v1/query", json={"query": SEATTLE})
    assert aliased.status_code == 200, aliased.text
    assert (aliased.json()["answer"], aliased.json()["citations"]) == (canonical["answer"], canonical["citations"])


def test_retrieve_takes_question_as_query_does(client: TestClient) -> None:
    canonical = client.post("/v1/retrieve", json={"query": SEATTLE, "top_k": 3}).json()
    aliased = client.post("/v1/retrieve", json={"question": SEATTLE, "top_k": 3})
    assert aliased.status_code == 200, aliased.text
    assert aliased.json() == canonical


def test_the_stream_takes_query_too(client: TestClient) -> None:
    with client.stream("POST", "/v1/query/stream", json={"query": SEATTLE}) as response:
        assert response.status_code == 200
        text = "".join(response.iter_text())
    assert "event: done" in text and "$160,000 - $220,000" in text


@pytest.mark.parametrize(
    ("path", "canonical"), [("/v1/query", "question"), ("/v1/query/stream", "question"), ("/v1/retrieve", "query")]
)
def test_both_or_neither_is_refused_naming_the_field(client: TestClient, path: str, canonical: str) -> None:
    both = client.post(path, json={"question": SEATTLE, "query": SEATTLE})
    assert both.status_code == 422
    error = both.json()["error"]
    assert error["param"] == canonical
    assert "`question`" in error["message"] and "`query`" in error["message"] and "not both" in error["message"]
    neither = client.post(path, json={"top_k": 3})
    assert neither.status_code == 422 and neither.json()["error"]["param"] == canonical


def test_an_empty_alias_is_refused_under_its_own_name(client: TestClient) -> None:
    response = client.post("/v1/query", json={"query": "   "})
    assert response.status_code == 422
    assert response.json()["error"]["param"] == "query"
    assert "query must not be empty" in response.json()["error"]["message"]


def test_the_schema_says_which_name_is_canonical(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    query, retrieve = schemas["QueryRequest"], schemas["RetrieveRequest"]
    assert "canonical" in query["properties"]["question"]["description"]
    assert "in place of `question`" in query["properties"]["query"]["description"]
    assert "canonical" in retrieve["properties"]["query"]["description"]
    assert "in place of `query`" in retrieve["properties"]["question"]["description"]
    for schema in (query, retrieve):
        assert schema["oneOf"] == [{"required": ["question"]}, {"required": ["query"]}]


# -- what a score is --------------------------------------------------------------------------------------
def test_the_score_is_documented_as_what_it_is(client: TestClient) -> None:
    """The score is the learned ranker's (rag/ranking/model.py), in units of cosine similarity and
    unbounded: the schema says so, rather than letting a reader take it for a probability."""
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for name in ("CitationOut", "RetrievedOut"):
        description = schemas[name]["properties"]["score"]["description"]
        assert "not a probability" in description and "unbounded" in description
        assert "top_score" in description  # and not the query log's dense cosine
    body = client.post("/v1/query", json={"question": "What are the key responsibilities of an AI engineer?"}).json()
    scores = [c["score"] for c in body["citations"]]
    # Items of a list quoted for the passage that found the list carry that passage's score.
    assert len(set(scores)) == 1 and scores[0] > 0
