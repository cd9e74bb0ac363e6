"""Abuse limits: bodies over the limit refused before they are read (over real sockets), per-client token
buckets, a bounded and timed share of the model, and the caps on conversation memory and the query log."""

from __future__ import annotations

import asyncio
import re
import select
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from llama_index.core.base.embeddings.base import BaseEmbedding

from api.app import create_app
from api.limits import AnswerSlots, TokenBuckets
from rag.models import Answer
from rag.service import QAService
from rag.settings import Settings
from tests.serving import serve

pytestmark = pytest.mark.timeout(120)

QUESTION = {"question": "What do AI engineers earn in Seattle?"}


def settings_for(built: Settings, tmp_path: Path, **changes: Any) -> Settings:
    return built.model_copy(update={"state_path": tmp_path / "state" / "rag.sqlite3", **changes})


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "type", "param"} and error["code"] == code
    kinds = {429: "rate_limit_error", 503: "server_error", 504: "server_error"}
    assert error["type"] == kinds.get(status, "invalid_request_error")


# -- body size over real sockets ---------------------------------------------------------------------------
def read_response(sock: socket.socket) -> tuple[int, bytes]:
    """The status and body of one HTTP/1.1 response (Content-Length framed)."""
    data = b""
    sock.settimeout(30)
    while b"\r\n\r\n" not in data or len(data.partition(b"\r\n\r\n")[2]) < body_length(data):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def body_length(data: bytes) -> int:
    match = re.search(rb"\r\ncontent-length: *(\d+)", data.partition(b"\r\n\r\n")[0], re.IGNORECASE)
    return int(match.group(1)) if match else 0


@pytest.fixture(scope="module")
def served_url(
    built_settings: Settings, embed_model: BaseEmbedding, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    settings = settings_for(built_settings, tmp_path_factory.mktemp("limits"), max_body_bytes=64 * 1024)
    with serve(create_app(settings, QAService(settings, embed_model=embed_model))) as url:
        yield url


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=30)


@pytest.mark.integration
def test_a_declared_10_mb_body_is_refused_before_it_is_sent(served_url: str) -> None:
    with connect(served_url) as sock:
        sock.sendall(
            b"POST /v1/query HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b"Content-Length: 10000000\r\n\r\n" + b"{" + b" " * 1023
        )
        # Only 1 KB of the 10 MB went out: the answer cannot have waited for the rest.
        status, body = read_response(sock)
    assert status == 413
    assert b'"code":"payload_too_large"' in body


@pytest.mark.integration
def test_a_chunked_body_is_cut_off_once_it_passes_the_limit(served_url: str) -> None:
    piece = b" " * 16 * 1024
    sent = 0
    with connect(served_url) as sock:
        sock.sendall(
            b"POST /v1/query HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        while sent < 10_000_000:
            if select.select([sock], [], [], 0.005)[0]:
                break  # the server has answered
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            except OSError:
                break  # it answered and closed while we were still sending
            sent += len(piece)
        status, body = read_response(sock)
    assert status == 413
    assert b'"code":"payload_too_large"' in body
    assert sent < 10_000_000, "the whole 10 MB went out before the server answered"


@pytest.mark.integration
def test_a_body_just_under_the_limit_is_read(served_url: str) -> None:
    padding = " " * (64 * 1024 - 200)
    response = httpx.post(
        f"{served_url}/v1/retrieve",
        content=('{"query": "salary in Austin",' + padding + '"top_k": 1}').encode(),
        headers={"content-type": "application/json"},
        timeout=60,
    )
    assert response.status_code == 200
    assert response.json()["results"][0]["text"].startswith("Austin")


# -- rate limits -------------------------------------------------------------------------------------------
class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_a_burst_then_refills_at_its_rate() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(per_minute=60, burst=3, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0, 0, 0]
    assert buckets.take("a") == pytest.approx(1.0)  # one token a second
    assert buckets.take("b") == 0  # another client has its own bucket
    clock.now += 1.0
    assert buckets.take("a") == 0
    clock.now += 3600
    assert [buckets.take("a") for _ in range(4)][-1] > 0  # refills up to the burst, not beyond


def test_buckets_forget_the_least_recent_clients_beyond_their_cap() -> None:
    buckets = TokenBuckets(per_minute=60, burst=1, max_clients=100, clock=FakeClock())
    for n in range(1000):
        buckets.take(f"ip:{n}")
    assert len(buckets._buckets) == 100
    assert buckets.take("ip:999") > 0  # the recent ones are still remembered


@pytest.fixture()
def limited(built_settings: Settings, embed_model: BaseEmbedding, tmp_path: Path) -> Iterator[TestClient]:
    settings = settings_for(
        built_settings, tmp_path, rate_limit_per_minute=6.0, rate_limit_burst=3, api_keys=["alpha-key", "beta-key"]
    )
    with TestClient(create_app(settings, QAService(settings, embed_model=embed_model))) as client:
        yield client


def test_a_client_over_its_rate_gets_429_with_retry_after(limited: TestClient) -> None:
    alpha = {"Authorization": "Bearer alpha-key"}
    assert [limited.get("/v1/models", headers=alpha).status_code for _ in range(3)] == [200, 200, 200]
    refused = limited.get("/v1/models", headers=alpha)
    assert_error(refused, 429, "rate_limited")
    assert int(refused.headers["Retry-After"]) == 10  # one request per 10 s at 6 a minute
    # Keys are clients of their own; probes are never limited.
    assert limited.get("/v1/models", headers={"Authorization": "Bearer beta-key"}).status_code == 200
    assert all(limited.get("/healthz").status_code == 200 for _ in range(10))


def test_guessing_tokens_is_throttled_by_address(limited: TestClient) -> None:
    statuses = [limited.get("/v1/models", headers={"Authorization": f"Bearer guess-{n}"}).status_code for n in range(5)]
    assert statuses == [401, 401, 401, 429, 429]


# -- a bounded, timed share of the model -------------------------------------------------------------------
class GatedService(QAService):
    """The real service with a gate before each answer: a model as slow as a test needs it to be."""

    def __init__(self, settings: Settings, embed_model: BaseEmbedding) -> None:
        super().__init__(settings, embed_model=embed_model)
        self.gate = threading.Event()
        self.entered = threading.Semaphore(0)

    def ask(self, *args: Any, **kwargs: Any) -> Answer:
        self.entered.release()
        if not self.gate.wait(timeout=60):
            raise RuntimeError("the test never opened the gate")
        return super().ask(*args, **kwargs)


def test_requests_arriving_together_cannot_overfill_the_queue() -> None:
    async def arrive_together() -> list[bool]:
        slots = AnswerSlots(limit=1, queue=1)
        places = [slots.join() for _ in range(3)]  # no await between them: one turn of the event loop
        await slots.acquire()
        return [*places, slots.join()]

    assert asyncio.run(arrive_together()) == [True, True, False, False]


def gated_client(
    built: Settings, embed_model: BaseEmbedding, tmp_path: Path, **changes: Any
) -> tuple[TestClient, GatedService]:
    settings = settings_for(built, tmp_path, rate_limit_per_minute=0.0, **changes)
    service = GatedService(settings, embed_model)
    return TestClient(create_app(settings, service)), service


def test_answers_beyond_the_slots_and_the_queue_get_503_while_probes_still_answer(
    built_settings: Settings, embed_model: BaseEmbedding, tmp_path: Path
) -> None:
    client, service = gated_client(
        built_settings, embed_model, tmp_path, max_concurrent_answers=1, max_queued_answers=1
    )
    with client, ThreadPoolExecutor(2) as pool:
        slots = client.app.state.answer_slots  # type: ignore[attr-defined]
        first = pool.submit(client.post, "/v1/query", json=QUESTION)
        assert service.entered.acquire(timeout=30)  # the first holds the only slot
        second = pool.submit(client.post, "/v1/query", json=QUESTION)
        wait_until(lambda: slots.waiting == 1)  # the second waits in the queue
        refused = client.post("/v1/query", json=QUESTION)
        assert_error(refused, 503, "overloaded")
        assert int(refused.headers["Retry-After"]) >= 1
        assert client.get("/healthz").status_code == 200
        service.gate.set()
        assert first.result(timeout=60).status_code == 200
        assert second.result(timeout=60).status_code == 200
        assert client.post("/v1/query", json=QUESTION).status_code == 200


def test_a_slow_answer_times_out_with_504_and_keeps_its_slot_until_it_ends(
    built_settings: Settings, embed_model: BaseEmbedding, tmp_path: Path
) -> None:
    client, service = gated_client(
        built_settings,
        embed_model,
        tmp_path,
        max_concurrent_answers=1,
        max_queued_answers=0,
        request_timeout_seconds=0.5,
    )
    with client:
        slots = client.app.state.answer_slots  # type: ignore[attr-defined]
        assert_error(client.post("/v1/query", json=QUESTION), 504, "timeout")
        # The abandoned answer still runs in its thread: no second one may pile up beside it.
        assert slots.running == 1
        assert_error(client.post("/v1/query", json=QUESTION), 503, "overloaded")
        service.gate.set()
        wait_until(lambda: slots.running == 0)
        assert client.post("/v1/query", json=QUESTION).status_code == 200
        # The abandoned answer finished and was logged like any other.
        assert client.app.state.store.rows("SELECT COUNT(*) FROM queries") == [(2,)]  # type: ignore[attr-defined]


def wait_until(condition: Any, timeout: float = 30.0) -> None:
    event = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        event.wait(0.01)
    raise AssertionError("condition not reached in time")


# -- caps on what is stored --------------------------------------------------------------------------------
def test_conversation_memory_and_the_query_log_are_capped_by_settings(
    built_settings: Settings, embed_model: BaseEmbedding, tmp_path: Path
) -> None:
    settings = settings_for(
        built_settings,
        tmp_path,
        rate_limit_per_minute=0.0,
        conversation_max_turns=2,
        max_conversations=2,
        query_log_max_entries=5,
    )
    with TestClient(create_app(settings, QAService(settings, embed_model=embed_model))) as client:
        store = client.app.state.store  # type: ignore[attr-defined]
        count_turns = "SELECT conversation_id, COUNT(*) FROM turns GROUP BY conversation_id ORDER BY 1"
        for _ in range(4):
            assert client.post("/v1/query", json={**QUESTION, "conversation_id": "long"}).status_code == 200
        assert store.rows(count_turns) == [("long", 2)]  # the last two turns only
        for name in ("second", "third"):
            assert client.post("/v1/query", json={**QUESTION, "conversation_id": name}).status_code == 200
        assert store.rows(count_turns) == [("second", 1), ("third", 1)]  # "long" was the least recently used
        assert store.rows("SELECT COUNT(*) FROM queries") == [(5,)]  # 6 answered, the newest 5 kept


def test_the_caps_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    values = {
        "RAG_CONVERSATION_MAX_TURNS": "3",
        "RAG_CONVERSATION_TTL_SECONDS": "60",
        "RAG_MAX_CONVERSATIONS": "7",
        "RAG_QUERY_LOG_MAX_ENTRIES": "11",
        "RAG_MAX_BODY_BYTES": "1024",
        "RAG_RATE_LIMIT_PER_MINUTE": "30",
        "RAG_RATE_LIMIT_BURST": "5",
        "RAG_REQUEST_TIMEOUT_SECONDS": "2.5",
        "RAG_MAX_CONCURRENT_ANSWERS": "2",
        "RAG_MAX_QUEUED_ANSWERS": "0",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (settings.conversation_max_turns, settings.conversation_ttl_seconds, settings.max_conversations) == (
        3,
        60,
        7,
    )
    assert (settings.query_log_max_entries, settings.max_body_bytes) == (11, 1024)
    assert (settings.rate_limit_per_minute, settings.rate_limit_burst, settings.request_timeout_seconds) == (30, 5, 2.5)
    assert (settings.max_concurrent_answers, settings.max_queued_answers) == (2, 0)
