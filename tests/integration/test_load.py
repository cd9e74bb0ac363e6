"""Load with nothing lost: `rag serve --workers 2` (a real subprocess, two processes sharing one state store)
under concurrent clients for a fixed time — questions over HTTP, each followed by its feedback, and Slack
mentions — then every query and every vote is counted in the store: all of them, not a sample.
Sized for a 2-core machine: a 20-second window."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from rag.operations.state import StateStore
from rag.settings import Settings
from tests.conftest import CORPUS
from tests.fakes.slack_api import TOKEN, FakeSlackAPI, fake_slack_api
from tests.fakes.slack_requests import SECRET, event_body, mention, signed_headers
from tests.served_process import RagServe

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]

WINDOW_SECONDS = 20.0
HTTP_CLIENTS = 6
SLACK_SENDERS = 2
SLACK_EVERY_SECONDS = 1.0
QUESTIONS = [
    "What do AI engineers earn in Seattle?",
    "And in Austin?",  # a follow-up: it rides on the conversation's earlier turn
    "Which programming languages should an AI engineer know?",
    "Is a PhD required?",
    "What is a good recipe for banana bread?",  # an abstention is logged like any answer
]


@dataclass
class Tally:
    """What the clients saw, to compare with what the store holds."""

    query_ids: list[str] = field(default_factory=list)
    votes: list[tuple[str, str, str]] = field(default_factory=list)
    slack_events: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture(scope="module")
def slack_api() -> Iterator[FakeSlackAPI]:
    with fake_slack_api() as fake:
        yield fake


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, built_settings: Settings, slack_api: FakeSlackAPI
) -> Iterator[tuple[RagServe, Path]]:
    tmp = tmp_path_factory.mktemp("load")
    state = tmp / "state" / "rag.sqlite3"
    env = {
        "RAG_CORPUS_DIR": str(CORPUS),
        "RAG_INDEX_DIR": str(built_settings.index_dir),
        "RAG_STATE_PATH": str(state),
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack_api.base_url,
        # Every question goes through the model: the answer cache would turn most of the load into look-ups.
        "RAG_ANSWER_CACHE_SIZE": "0",
    }
    with RagServe(env, workers=2, cwd=tmp) as server:
        yield server, state


def ask_and_rate(url: str, client_number: int, deadline: float, tally: Tally) -> None:
    with httpx.Client(base_url=url, timeout=60) as http:
        turn = 0
        while time.monotonic() < deadline:
            question = QUESTIONS[turn % len(QUESTIONS)]
            conversation = f"load-{client_number}-{turn // len(QUESTIONS)}"
            started = time.perf_counter()
            try:
                answer = http.post("/v1/query", json={"question": question, "conversation_id": conversation})
                elapsed = time.perf_counter() - started
                if answer.status_code != 200:
                    raise RuntimeError(f"/v1/query {answer.status_code}: {answer.text[:200]}")
                query_id = answer.json()["query_id"]
                vote = ("up" if turn % 2 else "down", f"client {client_number} turn {turn}")
                rated = http.post("/v1/feedback", json={"query_id": query_id, "rating": vote[0], "comment": vote[1]})
                if rated.status_code != 200:
                    raise RuntimeError(f"/v1/feedback {rated.status_code}: {rated.text[:200]}")
            except Exception as exc:  # counted, and the client carries on
                with tally.lock:
                    tally.errors.append(repr(exc))
            else:
                with tally.lock:
                    tally.query_ids.append(query_id)
                    tally.votes.append((query_id, *vote))
                    tally.latencies.append(elapsed)
            turn += 1


def mention_bot(url: str, sender: int, deadline: float, tally: Tally) -> None:
    with httpx.Client(base_url=url, timeout=30) as http:
        n = 0
        while time.monotonic() < deadline:
            event_id = f"EvLoad{sender}x{n:04d}"
            ts = f"{1_700_000_000 + sender * 10_000 + n}.000100"
            body = event_body(mention(QUESTIONS[n % 2], ts), event_id)
            try:
                sent = http.post(
                    "/slack/events", content=body, headers={**signed_headers(body), "Content-Type": "application/json"}
                )
                if sent.status_code != 200:
                    raise RuntimeError(f"/slack/events {sent.status_code}: {sent.text[:200]}")
            except Exception as exc:
                with tally.lock:
                    tally.errors.append(repr(exc))
            else:
                with tally.lock:
                    tally.slack_events.append(event_id)
            n += 1
            time.sleep(SLACK_EVERY_SECONDS)


def test_concurrent_clients_lose_nothing(served: tuple[RagServe, Path], slack_api: FakeSlackAPI) -> None:
    server, state_path = served
    store = StateStore(state_path)
    before = {table: store.rows(f"SELECT COUNT(*) FROM {table}")[0][0] for table in ("queries", "feedback")}

    tally = Tally()
    deadline = time.monotonic() + WINDOW_SECONDS
    threads = [
        threading.Thread(target=ask_and_rate, args=(server.url, n, deadline, tally)) for n in range(HTTP_CLIENTS)
    ] + [threading.Thread(target=mention_bot, args=(server.url, n, deadline, tally)) for n in range(SLACK_SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=WINDOW_SECONDS + 120)
    assert not any(thread.is_alive() for thread in threads)

    assert tally.errors == []
    assert len(tally.query_ids) > HTTP_CLIENTS * 5, "too little load to mean anything"
    # Slack answers in the background: wait for every mention's reply before counting.
    replies = slack_api.wait_for("chat.postMessage", count=len(tally.slack_events), timeout=180)

    http_logged = [row[0] for row in store.rows("SELECT query_id FROM queries WHERE channel = 'http'")]
    assert Counter(http_logged) == Counter(tally.query_ids)  # every answer once, none extra
    votes = store.rows("SELECT query_id, rating, comment FROM feedback WHERE source = 'http'")
    assert Counter(votes) == Counter(tally.votes)
    slack_logged = store.rows("SELECT COUNT(*) FROM queries WHERE channel = 'slack'")[0][0]
    assert slack_logged == len(tally.slack_events) == len(replies)
    after = {table: store.rows(f"SELECT COUNT(*) FROM {table}")[0][0] for table in ("queries", "feedback")}
    assert after["queries"] - before["queries"] == len(tally.query_ids) + len(tally.slack_events)
    assert after["feedback"] - before["feedback"] == len(tally.votes)
    workers = {entry["pid"] for entry in server.access_entries() if entry.get("path") == "/v1/query"}

    latencies = sorted(tally.latencies)
    summary = {
        "window_s": WINDOW_SECONDS,
        "http_clients": HTTP_CLIENTS,
        "slack_senders": SLACK_SENDERS,
        "queries": len(tally.query_ids),
        "votes": len(tally.votes),
        "slack_mentions": len(tally.slack_events),
        "errors": len(tally.errors),
        "workers_answering": len(workers),
        "query_p50_ms": round(1000 * latencies[len(latencies) // 2]),
        "query_p95_ms": round(1000 * latencies[int(len(latencies) * 0.95)]),
        "before": before,
        "after": after,
    }
    print("load:", json.dumps(summary))
