"""`POST /v1/query/stream`: the `/v1/query` answer as Server-Sent Events — `citations` first, then
`delta` events whose texts join into the answer, then `done` with the whole response object."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.deps import ServiceDep, StateDep
from api.schemas import ErrorResponse, QueryRequest
from api.sse import SSE_HEADERS, SSE_MEDIA_TYPE, sse_event, until_disconnected
from rag.answering.generation import answer_deltas
from rag.models import Answer, answer_payload
from rag.operations.conversation import ask_in_conversation

ERRORS: dict[int | str, dict[str, Any]] = {status: {"model": ErrorResponse} for status in (400, 422, 503)}

router = APIRouter(prefix="/v1", responses=ERRORS)

STREAM_DESCRIPTION = """Server-Sent Events, in this order:

- `event: citations` — `{"query_id", "answerable", "citations": [...]}` (the citation objects of `/v1/query`)
- `event: delta` — `{"text": "..."}`, repeated; the texts joined are the answer
- `event: done` — the whole `/v1/query` response object

The answer is complete (and, from a generator, verified) before the first event is sent, so every
error — bad input, no index, a timeout — arrives as JSON with its status code, never mid-stream."""


def answer_events(answer: Answer) -> list[bytes]:
    """The events that carry `answer`, in the order the contract fixes."""
    payload = answer_payload(answer)
    head = {"query_id": answer.query_id, "answerable": answer.answerable, "citations": payload["citations"]}
    events = [sse_event(head, "citations")]
    events += [sse_event({"text": piece}, "delta") for piece in answer_deltas(answer)]
    events.append(sse_event(payload, "done"))
    return events


@router.post(
    "/query/stream",
    summary="Answer a question with citations, streamed as Server-Sent Events",
    description=STREAM_DESCRIPTION,
    response_class=StreamingResponse,
    # The schema of one event, which is what OpenAPI 3.1 tooling (and the fuzzer) checks a stream against.
    responses={
        200: {
            "content": {
                SSE_MEDIA_TYPE: {
                    "schema": {
                        "type": "object",
                        "required": ["event", "data"],
                        "properties": {
                            "event": {"enum": ["citations", "delta", "done"]},
                            "data": {"type": "string", "description": "one line of JSON"},
                        },
                    }
                }
            }
        }
    },
)
async def query_stream(body: QueryRequest, request: Request, service: ServiceDep, store: StateDep) -> StreamingResponse:
    answer = await run_in_threadpool(
        ask_in_conversation, service, store, body.question, body.top_k, body.conversation_id, source=body.source
    )
    events = until_disconnected(request, answer_events(answer), "query stream")
    return StreamingResponse(events, media_type=SSE_MEDIA_TYPE, headers=SSE_HEADERS)
