"""`POST /v1/query/stream`: the `/v1/query` answer as Server-Sent Events — `citations` first, then
`delta` events whose texts join into the answer, then `done` with the whole response object."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.deps import ServiceDep, StateDep
from api.schemas import ErrorResponse, QueryRequest
from api.sse import SSE_HEADERS, SSE_MEDIA_TYPE, sse_event, text_pieces, until_disconnected
from rag.conversation import ask_in_conversation
from rag.errors import RagError
from rag.models import Answer, answer_payload
from rag.service import QAService
from rag.state import StateStore

log = logging.getLogger(__name__)

ERRORS: dict[int | str, dict[str, Any]] = {status: {"model": ErrorResponse} for status in (400, 422, 503)}

router = APIRouter(prefix="/v1", responses=ERRORS)

STREAM_DESCRIPTION = """Server-Sent Events, in this order:

- `event: citations` — `{"query_id", "answerable", "citations": [...]}` (the citation objects of `/v1/query`)
- `event: delta` — `{"text": "..."}`, repeated; the texts joined are the answer
- `event: done` — the whole `/v1/query` response object

A failure after the stream has started arrives as `event: error` with `{"error": {"code", "message"}}`.
Invalid input is refused before the stream starts, as JSON with a 4xx status."""


def answer_events(answer: Answer) -> list[bytes]:
    """The events that carry `answer`, in the order the contract fixes."""
    payload = answer_payload(answer)
    head = {"query_id": answer.query_id, "answerable": answer.answerable, "citations": payload["citations"]}
    events = [sse_event(head, "citations")]
    events += [sse_event({"text": piece}, "delta") for piece in text_pieces(answer.answer)]
    events.append(sse_event(payload, "done"))
    return events


def error_event(exc: Exception) -> bytes:
    if isinstance(exc, RagError):
        return sse_event({"error": {"code": exc.code, "message": str(exc)}}, "error")
    log.exception("streaming an answer failed")
    return sse_event({"error": {"code": "internal_error", "message": "the server failed to answer"}}, "error")


async def query_events(service: QAService, store: StateStore, body: QueryRequest) -> AsyncIterator[bytes]:
    try:
        answer = await run_in_threadpool(
            ask_in_conversation, service, store, body.question, body.top_k, body.conversation_id
        )
    except Exception as exc:
        yield error_event(exc)
        return
    for event in answer_events(answer):
        yield event


@router.post(
    "/query/stream",
    summary="Answer a question with citations, streamed as Server-Sent Events",
    description=STREAM_DESCRIPTION,
    response_class=StreamingResponse,
    responses={200: {"content": {SSE_MEDIA_TYPE: {"schema": {"type": "string"}}}}},
)
async def query_stream(body: QueryRequest, request: Request, service: ServiceDep, store: StateDep) -> StreamingResponse:
    # Everything the caller can get wrong is refused here, as JSON, before the stream starts.
    service.check_question(body.question)
    service.check_top_k(body.top_k)
    await run_in_threadpool(service.index)  # no index: 503 now rather than an error event later
    events = until_disconnected(request, query_events(service, store, body), "query stream")
    return StreamingResponse(events, media_type=SSE_MEDIA_TYPE, headers=SSE_HEADERS)
