"""`POST /v1/chat/completions` and `GET /v1/models` in the OpenAI wire format, so the official client
and chat front ends work unchanged. The last user message is the question, earlier user messages
give follow-ups their subject, and the citations ride along as a `citations` field and as numbered
footnotes at the end of the message content. `max_tokens` cuts the answer after a whole quote, and
`usage` counts tokens approximately (no model generates them): four for every three words."""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, replace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.chat_schemas import (
    MODEL_ID,
    ChatCompletion,
    ChatCompletionRequest,
    ChatMessage,
    ModelCard,
    ModelList,
)
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


def readable_text(message: ChatMessage) -> str:
    """What a message says in text, for counting the prompt: other parts (an image a tool sent) are skipped."""
    if message.content is None or isinstance(message.content, str):
        return message.content or ""
    return "\n".join(part.text for part in message.content if part.type == "text" and part.text)


# -- tokens --------------------------------------------------------------------------------------
def approximate_tokens(text: str) -> int:
    """Tokens as OpenAI's rule of thumb counts them, four for every three words: no tokenizer of any model
    this service could stand in for ships with it, and the count only has to be stable and plausible."""
    return math.ceil(len(text.split()) * 4 / 3)


# A stretch of an answer that ends with its citation markers: a quoted line (with the heading a list
# puts above its first item) or a generated sentence. What follows the last marker ("… and 3 more in …")
# is a stretch of its own.
QUOTED_STRETCH = re.compile(r".*?\[\d+\](?:\s*\[\d+\])*|.+", re.DOTALL)
MARKER = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True)
class Reply:
    """What the message content says: the answer as sent (perhaps cut short) and why it ended."""

    answer: Answer
    finish_reason: str
    prompt_tokens: int

    @property
    def content(self) -> str:
        return self.answer.answer + footnotes(self.answer)

    def usage(self) -> dict[str, int]:
        completion = content_tokens(self.answer)
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": self.prompt_tokens + completion,
        }


def cut_short(answer: Answer, stretches: int) -> Answer:
    """`answer` with its first `stretches` stretches of text and the citations they refer to."""
    text = "".join(QUOTED_STRETCH.findall(answer.answer)[:stretches]).rstrip()
    cited = {int(n) for n in MARKER.findall(text)}
    return replace(answer, answer=text, citations=[c for c in answer.citations if c.n in cited])


def content_tokens(answer: Answer) -> int:
    return approximate_tokens(answer.answer + footnotes(answer))


def within(answer: Answer, max_tokens: int | None) -> tuple[Answer, str]:
    """The longest beginning of `answer` whose content (text and footnotes) fits in `max_tokens`, cut
    after a whole stretch, and the finish reason: "length" when something was left out. The first
    stretch stays even when it alone is longer: half a quote would not be a quote."""
    if max_tokens is None or content_tokens(answer) <= max_tokens:
        return answer, "stop"
    stretches = len(QUOTED_STRETCH.findall(answer.answer))
    kept = cut_short(answer, 1)
    for count in range(2, stretches):
        longer = cut_short(answer, count)
        if content_tokens(longer) > max_tokens:
            break
        kept = longer
    return kept, "length" if kept.answer != answer.answer.rstrip() else "stop"


# -- response ----------------------------------------------------------------------------------
def footnotes(answer: Answer) -> str:
    """Numbered footnotes, one paragraph each so that Markdown front ends keep them apart."""
    notes = [f'[{c.n}] {c.section} — "{" ".join(c.quote.split())}"' for c in answer.citations]
    return "\n\n" + "\n\n".join(notes) if notes else ""


def completion_payload(reply: Reply) -> dict[str, object]:
    answer = reply.answer
    return {
        "id": f"chatcmpl-{answer.query_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": MODEL_ID,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.content, "refusal": None},
                "finish_reason": reply.finish_reason,
                "logprobs": None,
            }
        ],
        "usage": reply.usage(),
        "citations": [citation_payload(c) for c in answer.citations],
        "query_id": answer.query_id,
        "answerable": answer.answerable,
        "answerer": answer.answerer,
        "shape": answer.shape,
    }


def completion_chunks(reply: Reply, include_usage: bool = False) -> list[dict[str, object]]:
    """The `chat.completion.chunk` objects of a streamed answer: the role (with the citations), the
    answer word by word, the footnotes, and the end; with `include_usage`, as OpenAI does, every chunk
    has `usage: null` and a last one with no choices carries the usage."""
    answer = reply.answer
    created = int(time.time())
    usage: dict[str, object] = {"usage": None} if include_usage else {}

    def chunk(delta: dict[str, str], finish_reason: str | None = None, **extra: object) -> dict[str, object]:
        return {
            "id": f"chatcmpl-{answer.query_id}",
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
            **usage,
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
    chunks = [first, *(chunk({"content": piece}) for piece in pieces), chunk({}, reply.finish_reason)]
    if include_usage:
        chunks.append({**chunk({}), "choices": [], "usage": reply.usage()})
    return chunks


def completion_events(reply: Reply, include_usage: bool) -> list[bytes]:
    return [*(sse_event(chunk) for chunk in completion_chunks(reply, include_usage)), b"data: [DONE]\n\n"]


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
    reply = Reply(*within(answer, token_limit(body)), approximate_tokens(prompt_text(body.messages)))
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        events = until_disconnected(request, completion_events(reply, include_usage), "chat completion stream")
        return StreamingResponse(events, media_type=SSE_MEDIA_TYPE, headers=SSE_HEADERS)
    return JSONResponse(completion_payload(reply))


def token_limit(body: ChatCompletionRequest) -> int | None:
    """`max_tokens` or its newer name `max_completion_tokens`; with both, the smaller."""
    limits = [limit for limit in (body.max_tokens, body.max_completion_tokens) if limit is not None]
    return min(limits, default=None)


def prompt_text(messages: list[ChatMessage]) -> str:
    return "\n".join(readable_text(message) for message in messages)


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
