"""`rag serve --workers 2`, a real subprocess: both workers give the answers one process gives, a
conversation carries on whichever worker takes the next turn, and /metrics adds up all workers."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from rag.models import answer_payload
from rag.operations.state import StateStore
from rag.service import QAService
from rag.settings import Settings
from tests.conftest import CORPUS
from tests.served_process import RagServe, fresh_post

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUESTIONS = [
    "What is the salary range for a senior AI engineer?",
    "Which programming languages should an AI engineer know?",
    "What share of AI engineering jobs are remote or hybrid?",
    "What is the capital of France?",
]
FIRST_TURN = "What is the salary range for a senior AI engineer?"
FOLLOW_UP = "And for a junior one?"
# Enough tries that both workers take part, whichever way the kernel hands out connections.
MAX_ROUNDS = 25


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, built_settings: Settings) -> Iterator[RagServe]:
    tmp = tmp_path_factory.mktemp("workers")
    env = {
        "RAG_CORPUS_DIR": str(CORPUS),
        "RAG_INDEX_DIR": str(built_settings.index_dir),
        "RAG_STATE_PATH": str(tmp / "state" / "rag.sqlite3"),
    }
    with RagServe(env, workers=2, cwd=tmp) as server:
        yield server


def without_id(payload: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in payload.items() if key != "query_id"}


def test_every_worker_answers_as_one_process_does(served: RagServe, service: QAService) -> None:
    expected = {q: without_id(answer_payload(service.ask(q))) for q in QUESTIONS}
    pids: set[int] = set()
    query_ids: list[str] = []
    with ThreadPoolExecutor(4) as pool:
        for round_number in range(MAX_ROUNDS):
            ids = [f"same-{round_number}-{i}" for i in range(len(QUESTIONS))]
            posts = [
                pool.submit(fresh_post, served.url + "/v1/query", {"question": q}, rid)
                for q, rid in zip(QUESTIONS, ids)
            ]
            for question, rid, future in zip(QUESTIONS, ids, posts):
                response = future.result()
                assert response.status_code == 200, response.text
                assert without_id(response.json()) == expected[question]
                query_ids.append(response.json()["query_id"])
                pids.add(served.pid_of(rid))
            if len(pids) == 2 and round_number >= 1:
                break
    assert len(pids) == 2, "one worker answered everything; the test proves nothing about the second"
    # Both workers logged into the one shared store.
    log = StateStore(Path(served.env["RAG_STATE_PATH"]))
    assert all(log.query_exists(query_id) for query_id in query_ids)


def test_a_conversation_continues_on_another_worker(served: RagServe, service: QAService) -> None:
    resolved_first = service.ask(FIRST_TURN).resolved_question
    expected = service.ask(FOLLOW_UP, history=[resolved_first]).answer
    assert expected != service.ask(FOLLOW_UP).answer  # without the first turn the follow-up means something else
    crossed = 0
    for round_number in range(MAX_ROUNDS):
        conversation = f"conversation-{round_number}"
        first = fresh_post(
            served.url + "/v1/query", {"question": FIRST_TURN, "conversation_id": conversation}, f"{conversation}-1"
        )
        second = fresh_post(
            served.url + "/v1/query", {"question": FOLLOW_UP, "conversation_id": conversation}, f"{conversation}-2"
        )
        assert first.status_code == second.status_code == 200
        assert second.json()["answer"] == expected
        if served.pid_of(f"{conversation}-1") != served.pid_of(f"{conversation}-2"):
            crossed += 1
            if crossed == 2:
                break
    assert crossed == 2, "no follow-up landed on the other worker; the shared store was not exercised"


def query_count(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if (sample.name, sample.labels.get("route"), sample.labels.get("status")) == (
                "rag_http_requests_total",
                "/v1/query",
                "200",
            ):
                return sample.value
    return 0.0


def scrape(served: RagServe, request_id: str) -> tuple[float, int]:
    response = httpx.get(served.url + "/metrics", headers={"X-Request-ID": request_id, "Connection": "close"})
    assert response.status_code == 200
    return query_count(response.text), served.pid_of(request_id)


def test_metrics_add_up_every_worker(served: RagServe) -> None:
    before, _ = scrape(served, "scrape-before")
    sent = 12
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(
                lambda i: fresh_post(served.url + "/v1/query", {"question": QUESTIONS[i % 4]}, f"counted-{i}"),
                range(sent),
            )
        )
    assert all(a.status_code == 200 for a in answers)
    for i in range(sent):
        served.pid_of(f"counted-{i}")  # a request is counted before its access line is written
    seen: dict[int, float] = {}
    for i in range(MAX_ROUNDS * 2):
        total, pid = scrape(served, f"scrape-{i}")
        seen[pid] = total
        if len(seen) == 2:
            break
    assert len(seen) == 2, "every scrape went to one worker"
    # Whichever worker answers the scrape reports the requests of both.
    assert set(seen.values()) == {before + sent}
