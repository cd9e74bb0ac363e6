"""`POST /v1/chat/completions` and `GET /v1/models` in the OpenAI wire format, so the official client
and chat front ends work unchanged. The last user message is the question, earlier user messages
give follow-ups their subject, and the citations ride along as a `citations` field and as numbered
footnotes at the end of the message content."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.chat_schemas import MODEL_ID, ChatCompletion, ChatCompletionRequest, ChatMessage, ModelCard, ModelList
from api.deps import ServiceDep, StateDep
from api.errors import error_response
from api.schemas import ErrorResponse
from api.sse import SSE_HEADERS, SSE_MEDIA_TYPE, sse_event, until_disconnected
from rag.answering.generation import answer_deltas
from rag.errors import InvalidQuestion
from rag.models import Answer, citation_payload
from rag.operations.conversation import ask_after

ERRORS: dict[int | str, dict[str, Any]] = {status: {"model": ErrorResponse} for status in (400, 404, 422, 503)}
# When this process began serving the model; OpenAI clients show it, nothing depends on it.
MODEL_CREATED = int(time.time())

router = APIRouter(prefix="/v1", responses=ERRORS, tags=["OpenAI-compatible"])


# -- request -----------------------------------------------------------------------------------
def message_text(message: ChatMessage, where: str) -> str:
    """The text of a message: its string content, or its text parts joined."""
    if message.content is None or isinstance(message.content, str):
        return message.content or ""
    texts = []
    for part in message.content:
        if part.type != "text":
            raise InvalidQuestion(f"{where}: only text content is supported, got a {part.type!r} part", param=where)
        if part.text is None:
            raise InvalidQuestion(f"{where}: a text part needs a string `text`", param=where)
        texts.append(part.text)
    return "\n".join(texts)


def question_and_history(messages: list[ChatMessage]) -> tuple[str, list[str]]:
    """The question (the last message, which must be the user's) and the earlier user questions."""
    last = len(messages) - 1
    if messages[last].role != "user":
        raise InvalidQuestion(
            f"messages[{last}].role: the last message must be the user's question, got {messages[last].role!r}",
            param=f"messages[{last}].role",
        )
    question = message_text(messages[last], f"messages[{last}].content")
    earlier = [message_text(m, f"messages[{i}].content") for i, m in enumerate(messages[:last]) if m.role == "user"]
    return question, earlier


# -- response ----------------------------------------------------------------------------------
def footnotes(answer: Answer) -> str:
    """Numbered footnotes, one paragraph each so that Markdown front ends keep them apart."""
    notes = [f'[{c.n}] {c.section} — "{" ".join(c.quote.split())}"' for c in answer.citations]
    return "\n\n" + "\n\n".join(notes) if notes else ""


def completion_payload(answer: Answer) -> dict[str, object]:
    return {
        "id": f"chatcmpl-{answer.query_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": MODEL_ID,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer.answer + footnotes(answer), "refusal": None},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "citations": [citation_payload(c) for c in answer.citations],
        "query_id": answer.query_id,
        "answerable": answer.answerable,
        "answerer": answer.answerer,
        "shape": answer.shape,
    }


def completion_chunks(answer: Answer) -> list[dict[str, object]]:
    """The `chat.completion.chunk` objects of a streamed answer: the role (with the citations), the
    answer word by word, the footnotes, and the end."""
    created = int(time.time())

    def chunk(delta: dict[str, str], finish_reason: str | None = None, **extra: object) -> dict[str, object]:
        return {
            "id": f"chatcmpl-{answer.query_id}",
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
            **extra,
        }

    first = chunk(
        {"role": "assistant", "content": ""},
        citations=[citation_payload(c) for c in answer.citations],
        query_id=answer.query_id,
        answerable=answer.answerable,
        answerer=answer.answerer,
        shape=answer.shape,
    )
    pieces = [*answer_deltas(answer), *([footnotes(answer)] if answer.citations else [])]
    return [first, *(chunk({"content": piece}) for piece in pieces), chunk({}, "stop")]


def completion_events(answer: Answer) -> list[bytes]:
    return [*(sse_event(chunk) for chunk in completion_chunks(answer)), b"data: [DONE]\n\n"]


# -- routes ------------------------------------------------------------------------------------
@router.post(
    "/chat/completions",
    summary="Answer the last user message, OpenAI Chat Completions format",
    response_model=ChatCompletion,
    # The schema of one event, which is what OpenAPI 3.1 tooling (and the fuzzer) checks a stream against.
    responses={
        200: {
            "content": {
                SSE_MEDIA_TYPE: {
                    "schema": {
                        "type": "object",
                        "required": ["data"],
                        "properties": {"data": {"type": "string", "description": "a chunk as JSON, or [DONE]"}},
                    }
                }
            }
        }
    },
)
async def chat_completions(
    body: ChatCompletionRequest, request: Request, service: ServiceDep, store: StateDep
) -> JSONResponse | StreamingResponse:
    question, earlier = question_and_history(body.messages)
    question = service.check_question(question, f"messages[{len(body.messages) - 1}].content")
    # The answer is complete before anything is sent: every error is JSON with its status, even when streaming.
    answer = await run_in_threadpool(ask_after, service, store, question, earlier, body.top_k, "openai")
    if body.stream:
        events = until_disconnected(request, completion_events(answer), "chat completion stream")
        return StreamingResponse(events, media_type=SSE_MEDIA_TYPE, headers=SSE_HEADERS)
    return JSONResponse(completion_payload(answer))


@router.get("/models", response_model=ModelList, summary="The one model this service answers as")
def list_models() -> dict[str, object]:
    return {"object": "list", "data": [model_card()]}


@router.get("/models/{model_id}", response_model=ModelCard, summary="One model, OpenAI format")
def retrieve_model(model_id: str) -> JSONResponse:
    if model_id != MODEL_ID:
        return error_response(404, "model_not_found", f"no model {model_id!r}; this service answers as {MODEL_ID!r}")
    return JSONResponse(model_card())


def model_card() -> dict[str, object]:
    return {"id": MODEL_ID, "object": "model", "created": MODEL_CREATED, "owned_by": "guide-rag"}
