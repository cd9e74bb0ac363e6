"""`POST /v1/query/stream` on the real index: the order of events, that the deltas are the answer,
follow-ups in a conversation, errors before the stream as JSON, and a client leaving mid-stream."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from llama_index.core.base.embeddings.base import BaseEmbedding

from api.app import create_app
from rag.service import QAService
from rag.settings import Settings
from tests.conftest import make_settings

SEATTLE = "What do AI engineers earn in Seattle?"


def parse_events(raw: str) -> list[tuple[str, Any]]:
    """(event, data) pairs of an SSE body, as a browser's parser would read them."""
    events = []
    for block in raw.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[len("event:") :].strip()
            elif line.startswith("data:"):
                data.append(line[len("data:") :].removeprefix(" "))
        if data:
            events.append((name, json.loads("\n".join(data))))
    return events


def stream(client: TestClient, **body: object) -> list[tuple[str, Any]]:
    response = client.post("/v1/query/stream", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return parse_events(response.text)


def test_citations_then_deltas_that_join_into_the_answer_then_done(client: TestClient, guide_text: str) -> None:
    events = stream(client, question=SEATTLE)
    names = [name for name, _ in events]
    assert names[0] == "citations" and names[-1] == "done"
    assert set(names[1:-1]) == {"delta"} and len(names) > 10  # word by word, not one lump

    head, done = events[0][1], events[-1][1]
    assert set(done) >= {"query_id", "answer", "answerable", "citations"}
    assert head["query_id"] == done["query_id"] and head["citations"] == done["citations"]
    assert done["answerable"] is True
    assert "".join(data["text"] for name, data in events if name == "delta") == done["answer"]
    assert "$160,000 - $220,000" in done["answer"].splitlines()[0]
    first = done["citations"][0]
    assert first["quote"].startswith("Seattle") and guide_text[first["start"] : first["end"]] == first["quote"]


def test_done_carries_what_query_returns(client: TestClient) -> None:
    done = stream(client, question=SEATTLE, top_k=5)[-1][1]
    plain = client.post("/v1/query", json={"question": SEATTLE, "top_k": 5}).json()
    assert set(done) == set(plain)
    assert {k: v for k, v in done.items() if k != "query_id"} == {k: v for k, v in plain.items() if k != "query_id"}


def test_follow_up_in_a_conversation_lands_on_the_seattle_row(client: TestClient) -> None:
    first = stream(client, question="What do AI engineers earn in Austin?", conversation_id="stream-followup")[-1][1]
    assert first["citations"][0]["quote"].startswith("Austin")
    follow_up = stream(client, question="And in Seattle?", conversation_id="stream-followup")[-1][1]
    assert follow_up["citations"][0]["quote"].startswith("Seattle $160,000 - $220,000")
    # A follow-up borrows the earlier subject (salary) only inside its conversation.
    stream(client, question="What's the salary for an entry-level AI engineer?", conversation_id="stream-level")
    within = stream(client, question="what about seniors?", conversation_id="stream-level")[-1][1]
    assert within["citations"][0]["quote"].startswith("Senior Level (5+ years): $160,000 - $200,000+")
    alone = stream(client, question="what about seniors?")[-1][1]
    assert not (alone["citations"] and "$160,000 - $200,000+" in alone["citations"][0]["quote"])


def test_off_topic_question_streams_an_abstention(client: TestClient) -> None:
    events = stream(client, question="What is a good recipe for banana bread?")
    head, done = events[0][1], events[-1][1]
    assert head["answerable"] is False and head["citations"] == []
    assert done["answerable"] is False and "does not cover" in done["answer"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"question": "   "}, 422),
        ({"question": SEATTLE, "top_k": 0}, 422),
        ({"question": SEATTLE, "top_k": 10**9}, 422),
        ({"question": 42}, 422),
        ({"question": SEATTLE, "unknown": True}, 422),
        ({}, 422),
        ("not json", 400),
    ],
)
def test_bad_input_is_refused_as_json_before_the_stream(client: TestClient, body: object, status: int) -> None:
    if isinstance(body, str):
        response = client.post("/v1/query/stream", content=body, headers={"content-type": "application/json"})
    else:
        response = client.post("/v1/query/stream", json=body)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] in {"invalid_request", "invalid_json"} and error["message"]


def test_no_index_is_a_503_in_json_not_a_broken_stream(tmp_path: Path, embed_model: BaseEmbedding) -> None:
    settings: Settings = make_settings(tmp_path)  # an index folder with nothing built in it
    with TestClient(create_app(settings, QAService(settings, embed_model=embed_model))) as empty:
        response = empty.post("/v1/query/stream", json={"question": SEATTLE})
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["code"] == "index_missing"


def test_a_client_that_leaves_mid_stream_gets_nothing_further(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Drive the real app at the ASGI level: the client disconnects as soon as the first event arrives."""
    full = client.post("/v1/query", json={"question": SEATTLE}).json()["answer"]
    body = json.dumps({"question": SEATTLE}).encode()
    sent: list[dict[str, Any]] = []

    async def leave_after_first_event() -> None:
        first_event = asyncio.Event()
        requests = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict[str, Any]:
            if requests:
                return requests.pop()
            await first_event.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)
            if message["type"] == "http.response.body" and message.get("body"):
                first_event.set()

        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/v1/query/stream",
            "raw_path": b"/v1/query/stream",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"testserver"), (b"content-type", b"application/json")],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        await client.app(scope, receive, send)  # type: ignore[arg-type]

    with caplog.at_level(logging.INFO, logger="api.sse"):
        assert client.portal is not None
        client.portal.call(leave_after_first_event)

    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 200
    received = parse_events(b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body").decode())
    names = [name for name, _ in received]
    assert names[0] == "citations"
    assert "done" not in names
    assert names.count("delta") < len(full.split())
    assert any("client disconnected" in r.getMessage() for r in caplog.records)
