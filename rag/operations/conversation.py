"""One question in a conversation: earlier turns give context to follow-ups, and every answer is logged."""

from __future__ import annotations

import time
from collections.abc import Sequence

from rag.models import Answer
from rag.operations.state_contract import SharedState
from rag.ranking.turns import resolve_followup
from rag.service import QAService


def ask_in_conversation(
    service: QAService,
    store: SharedState,
    question: str,
    top_k: int | None = None,
    conversation_id: str | None = None,
    channel: str = "http",
    source: str | None = None,
    carried_from: str | None = None,
) -> Answer:
    """Answer `question`, using and extending the stored turns of `conversation_id`, and log it;
    `source` limits the evidence to one document. The turns of `carried_from`, an earlier conversation
    this one goes on from (a new top-level message in the same Slack DM), come before its own."""
    started = time.perf_counter()
    history = [turn.resolved for turn in store.turns(carried_from)] if carried_from else []
    if conversation_id:
        history += [turn.resolved for turn in store.turns(conversation_id)]
    answer = service.ask(question, top_k, history, source)
    if conversation_id:
        store.add_turn(conversation_id, answer.question, answer.resolved_question, answer.answer)
    log_answer(store, answer, (time.perf_counter() - started) * 1000, conversation_id, channel, answer.answerer)
    return answer


def resolved_history(service: QAService, questions: Sequence[str]) -> list[str]:
    """Earlier questions (oldest first) as they were meant, each resolved against the ones before it,
    so a chain of follow-ups ("And in Seattle?", "And for seniors?") keeps its subject."""
    retriever = service.index().retriever
    resolved: list[str] = []
    for question in questions:
        if question.strip():
            resolved.append(resolve_followup(question.strip(), resolved, retriever.slots, retriever.synonyms))
    return resolved


def ask_after(
    service: QAService,
    store: SharedState,
    question: str,
    earlier_questions: Sequence[str],
    top_k: int | None = None,
    channel: str = "openai",
) -> Answer:
    """Answer `question` in a conversation its caller keeps (an OpenAI client sends every turn each
    time), and log it."""
    started = time.perf_counter()
    answer = service.ask(question, top_k, resolved_history(service, earlier_questions))
    log_answer(store, answer, (time.perf_counter() - started) * 1000, None, channel, answer.answerer)
    return answer


def log_answer(
    store: SharedState, answer: Answer, latency_ms: float, conversation_id: str | None, channel: str, answerer: str
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
