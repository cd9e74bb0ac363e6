"""One question in a conversation: earlier turns give context to follow-ups, and every answer is logged."""

from __future__ import annotations

import time

from rag.models import Answer
from rag.service import QAService
from rag.state import StateStore


def ask_in_conversation(
    service: QAService,
    store: StateStore,
    question: str,
    top_k: int | None = None,
    conversation_id: str | None = None,
    channel: str = "http",
) -> Answer:
    """Answer `question`, using and extending the stored turns of `conversation_id`, and log it."""
    started = time.perf_counter()
    history = [turn.resolved for turn in store.turns(conversation_id)] if conversation_id else []
    answer = service.ask(question, top_k, history)
    if conversation_id:
        store.add_turn(conversation_id, answer.question, answer.resolved_question, answer.answer)
    log_answer(store, answer, (time.perf_counter() - started) * 1000, conversation_id, channel, service.answerer.name)
    return answer


def log_answer(
    store: StateStore, answer: Answer, latency_ms: float, conversation_id: str | None, channel: str, answerer: str
) -> None:
    store.log_query(
        {
            "query_id": answer.query_id,
            "question": answer.question,
            "resolved": answer.resolved_question,
            "answer": answer.answer,
            "answerable": answer.answerable,
            "answerer": answerer,
            "latency_ms": latency_ms,
            "conversation_id": conversation_id,
            "channel": channel,
            "retrieved": [[r.chunk.chunk_id, round(r.score, 6), round(r.dense_score, 4)] for r in answer.retrieved],
        }
    )
