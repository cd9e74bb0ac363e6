"""The source filter of `/v1/query`, `/v1/query/stream` and `/v1/retrieve` (and `rag ask/retrieve --source`):
only the named document competes; a name that is not a document of the index is a 422 in the error shape."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from llama_index.core.base.embeddings.base import BaseEmbedding

from api.app import create_app
from rag.index.ingest import ingest
from rag.service import QAService
from rag.settings import Settings
from tests.conftest import make_settings
from tests.rag.test_cli import run_rag

# Two pay surveys that disagree: the same question has an answer in each, so only the filter decides.
GUIDE = "guide.txt"
SURVEY = "surveys/pay-2025.txt"
DOCUMENTS = {
    GUIDE: """AI Engineer Hiring Guide

Regional Salary Data

Metro Area Average Salary Cost of Living Factor
Seattle $160,000 - $220,000 High (1.4x national average)
Boston $145,000 - $195,000 High (1.3x national average)
Austin $135,000 - $185,000 Moderate (1.1x national average)
Denver $125,000 - $170,000 Moderate (1.0x national average)

Remote Work

Most positions offer remote or hybrid options, and teams meet in person once a quarter.

Time to Hire

Filling a senior role typically takes two to four months from the first posting.
""",
    SURVEY: """AI Engineer Pay Survey 2025

Regional Salary Data

Metro Area Average Salary Cost of Living Factor
Seattle $118,000 - $149,000 High (1.4x national average)
Chicago $109,000 - $138,000 Moderate (1.0x national average)
Austin $101,000 - $127,000 Moderate (1.1x national average)
Atlanta $97,000 - $121,000 Moderate (0.9x national average)

Interview Loop

Candidates meet four engineers over two days and present a take-home project to the hiring manager.

Benefits

Respondents most often named equity, a learning budget and a four-day week as what they value.
""",
}
SEATTLE = "What do AI engineers earn in Seattle?"


@pytest.fixture(scope="module")
def two_sources(tmp_path_factory: pytest.TempPathFactory, embed_model: BaseEmbedding) -> Settings:
    root = tmp_path_factory.mktemp("sources")
    for name, text in DOCUMENTS.items():
        (root / "corpus" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "corpus" / name).write_text(text, encoding="utf-8")
    settings = make_settings(root, corpus=root / "corpus", RAG_RATE_LIMIT_PER_MINUTE=0)
    ingest(settings, embed_model)
    return settings


@pytest.fixture(scope="module")
def api(two_sources: Settings, embed_model: BaseEmbedding) -> Iterator[TestClient]:
    with TestClient(create_app(two_sources, QAService(two_sources, embed_model=embed_model))) as client:
        yield client


def sources_of(results: list[dict[str, object]]) -> set[object]:
    return {r["source"] for r in results}


def test_without_a_source_both_documents_compete(api: TestClient) -> None:
    results = api.post("/v1/retrieve", json={"query": "Seattle salary", "top_k": 10}).json()["results"]
    assert sources_of(results) == {GUIDE, SURVEY}


@pytest.mark.parametrize("source", [GUIDE, SURVEY])
def test_retrieve_returns_only_chunks_of_the_source(api: TestClient, source: str) -> None:
    # Deep enough that, unfiltered, chunks of the other document would be among them (dense and BM25 alike).
    response = api.post(
        "/v1/retrieve", json={"query": "Seattle salary remote interview", "top_k": 10, "source": source}
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert results and sources_of(results) == {source}
    text = DOCUMENTS[source]
    assert all(text[r["start"] : r["end"]] == r["text"] for r in results)


@pytest.mark.parametrize(
    ("source", "figure", "other"), [(GUIDE, "$160,000", "$118,000"), (SURVEY, "$118,000", "$160,000")]
)
def test_query_answers_from_the_source_only(api: TestClient, source: str, figure: str, other: str) -> None:
    body = api.post("/v1/query", json={"question": SEATTLE, "source": source}).json()
    assert body["answerable"] is True and body["citations"]
    assert {c["source"] for c in body["citations"]} == {source}
    assert figure in body["answer"] and other not in body["answer"]


def test_the_stream_answers_from_the_source_only(api: TestClient) -> None:
    raw = api.post("/v1/query/stream", json={"question": SEATTLE, "source": SURVEY}).text
    done = next(block for block in raw.strip().split("\n\n") if block.startswith("event: done"))
    payload = json.loads(done.split("data: ", 1)[1])
    assert {c["source"] for c in payload["citations"]} == {SURVEY} and "$118,000" in payload["answer"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/query", {"question": SEATTLE, "source": "no/such/file.txt"}),
        ("/v1/retrieve", {"query": SEATTLE, "source": "no/such/file.txt"}),
        ("/v1/retrieve", {"query": SEATTLE, "source": "pay-2025.txt"}),  # a file name is not its corpus path
        ("/v1/query", {"question": SEATTLE, "source": ""}),
    ],
)
def test_a_source_that_is_not_in_the_index_is_a_422(api: TestClient, path: str, body: dict[str, object]) -> None:
    response = api.post(path, json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and "source" in error["message"]


@pytest.mark.parametrize("source", [7, ["guide.txt"], True])
def test_a_source_that_is_not_a_string_is_a_422(api: TestClient, source: object) -> None:
    response = api.post("/v1/query", json={"question": SEATTLE, "source": source})
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_request"


def test_the_cache_keeps_answers_of_different_sources_apart(api: TestClient) -> None:
    first = api.post("/v1/query", json={"question": SEATTLE, "source": GUIDE}).json()
    second = api.post("/v1/query", json={"question": SEATTLE, "source": SURVEY}).json()
    assert "$160,000" in first["answer"] and "$118,000" in second["answer"]


@pytest.mark.slow
def test_the_cli_takes_a_source(two_sources: Settings, tmp_path: Path) -> None:
    env = {
        "RAG_INDEX_DIR": str(two_sources.index_dir),
        "RAG_CORPUS_DIR": str(two_sources.corpus_dir),
        "RAG_STATE_PATH": str(tmp_path / "state.sqlite3"),
    }
    found = run_rag("retrieve", "Seattle salary", "--json", "--top-k", "10", "--source", SURVEY, env=env)
    assert found.returncode == 0, found.stderr
    assert sources_of(json.loads(found.stdout)["results"]) == {SURVEY}
    refused = run_rag("ask", SEATTLE, "--source", "nowhere.txt", env=env)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.strip().splitlines()[-1].startswith("rag ask: error: source 'nowhere.txt'")
