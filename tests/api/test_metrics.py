"""`GET /metrics` after real queries through the app, the request id, and the JSON access log."""

from __future__ import annotations

import io
import json
import logging
import os

from fastapi.testclient import TestClient
from llama_index.core.base.embeddings.base import BaseEmbedding
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from rag.service import QAService
from rag.settings import Settings

COVERED = "What is the salary range for a senior AI engineer?"
NOT_COVERED = "What is the capital of France?"


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_answers_from_the_cache_are_counted(client: TestClient) -> None:
    question = "What do AI engineers earn in Denver?"
    for _ in range(3):
        assert client.post("/v1/query", json={"question": question}).json()["answerable"] is True
    samples = scrape(client)
    assert value(samples, "rag_answer_cache_hits_total") == 2
    assert value(samples, "rag_answers_total", answerable="true") == 3


def test_metrics_count_requests_stages_abstentions_and_scores(client: TestClient) -> None:
    assert client.post("/v1/query", json={"question": COVERED}).json()["answerable"] is True
    assert client.post("/v1/query", json={"question": NOT_COVERED}).json()["answerable"] is False
    assert client.post("/v1/retrieve", json={"query": "remote work policy"}).status_code == 200
    assert client.post("/v1/query", json={"question": ""}).status_code == 422
    assert client.get("/no/such/page").status_code == 404

    samples = scrape(client)
    query = {"method": "POST", "route": "/v1/query"}
    assert value(samples, "rag_http_requests_total", status="200", **query) == 2
    assert value(samples, "rag_http_requests_total", status="422", **query) == 1
    assert value(samples, "rag_http_requests_total", method="POST", route="/v1/retrieve", status="200") == 1
    # Unknown paths share one label, so scanning the server cannot create a series per path.
    assert value(samples, "rag_http_requests_total", method="GET", route="unmatched", status="404") == 1
    assert value(samples, "rag_http_request_duration_seconds_count", **query) == 3
    assert value(samples, "rag_http_request_duration_seconds_sum", **query) > 0

    # Two questions and one retrieval embed and search three times; only the questions are composed.
    assert value(samples, "rag_stage_duration_seconds_count", stage="embed") == 3
    assert value(samples, "rag_stage_duration_seconds_count", stage="retrieve") == 3
    assert value(samples, "rag_stage_duration_seconds_count", stage="answer") == 2
    for stage in ("embed", "retrieve", "answer"):
        assert value(samples, "rag_stage_duration_seconds_sum", stage=stage) > 0

    assert value(samples, "rag_answers_total", answerable="true") == 1
    assert value(samples, "rag_answers_total", answerable="false") == 1
    assert value(samples, "rag_abstention_ratio") == 0.5
    assert value(samples, "rag_top1_score_count") == 2
    # The covered question matches the guide far better than the uncovered one: one score in each half.
    assert value(samples, "rag_top1_score_bucket", le="0.5") == 1
    assert value(samples, "rag_top1_score_bucket", le="1.0") == 2


def test_metrics_describe_the_index_in_service(client: TestClient) -> None:
    loaded = client.app.state.service.loaded_index  # type: ignore[attr-defined]
    samples = scrape(client)
    assert loaded.chunk_count > 100
    assert value(samples, "rag_index_chunks") == loaded.chunk_count
    assert value(samples, "rag_index_info", version=loaded.version) == 1


def test_each_app_counts_only_its_own_requests(
    client: TestClient, built_settings: Settings, embed_model: BaseEmbedding
) -> None:
    client.post("/v1/query", json={"question": COVERED})
    client.post("/v1/query", json={"question": COVERED})
    with TestClient(create_app(built_settings, QAService(built_settings, embed_model=embed_model))) as other:
        other.post("/v1/query", json={"question": COVERED})
        other_samples = scrape(other)
    labels = {"method": "POST", "route": "/v1/query", "status": "200"}
    assert value(other_samples, "rag_http_requests_total", **labels) == 1
    assert value(scrape(client), "rag_http_requests_total", **labels) == 2


def test_request_id_is_echoed_or_made(client: TestClient) -> None:
    given = client.get("/healthz", headers={"X-Request-ID": "trace-abc.123"})
    assert given.headers["x-request-id"] == "trace-abc.123"
    made = client.get("/healthz")
    other = client.get("/healthz")
    assert len(made.headers["x-request-id"]) == 32
    assert made.headers["x-request-id"] != other.headers["x-request-id"]
    # Anything that does not look like an id (here: a forged log line) is replaced, not logged.
    forged = client.get("/healthz", headers={"X-Request-ID": 'x" level=ERROR'})
    assert forged.headers["x-request-id"] != 'x" level=ERROR'


def test_access_log_is_json_with_the_query_id(client: TestClient) -> None:
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "rag")
    assert isinstance(handler, logging.StreamHandler)
    captured = io.StringIO()
    previous = handler.setStream(captured)
    try:
        response = client.post("/v1/query", json={"question": COVERED}, headers={"X-Request-ID": "req-42"})
    finally:
        handler.setStream(previous)
    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    access = [line for line in lines if line["logger"] == "api.access" and line["request_id"] == "req-42"]
    assert len(access) == 1
    entry = access[0]
    assert entry["query_id"] == response.json()["query_id"]
    assert entry["route"] == "/v1/query"
    assert entry["status"] == 200
    assert entry["answerable"] is True
    assert entry["duration_ms"] > 0
    assert set(entry["stages_ms"]) == {"embed", "retrieve", "answer"}
    assert entry["level"] == "INFO"
    assert entry["pid"] == os.getpid()
    assert entry["message"].startswith("POST /v1/query 200 in ")
    assert entry["time"].endswith("Z")


def test_feedback_is_counted_by_rating_and_channel(client: TestClient) -> None:
    before = scrape(client)
    query_id = client.post("/v1/query", json={"question": COVERED}).json()["query_id"]
    for rating in ("up", "up", "down"):
        response = client.post("/v1/feedback", json={"query_id": query_id, "rating": rating})
        assert response.status_code == 200
    # What the Slack bot records (through the same shared store) is counted under its own channel.
    client.app.state.store.record_feedback(query_id, "down", None, source="slack")  # type: ignore[attr-defined]
    after = scrape(client)

    def added(**labels: str) -> float:
        return value(after, "rag_feedback_total", **labels) - value(before, "rag_feedback_total", **labels)

    assert added(rating="up", channel="http") == 2
    assert added(rating="down", channel="http") == 1
    assert added(rating="down", channel="slack") == 1
    # Both ratings are always exposed, so a dashboard sees a zero rather than no series.
    assert ("rag_feedback_total", (("channel", "http"), ("rating", "down"))) in before
