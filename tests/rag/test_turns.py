"""Conversations on the default service: a complete question is answered on its own whatever came
before; a follow-up keeps what the conversation established and does not replace, over several
turns; the rewritten question is one sentence (rag/ranking/turns.py)."""

from __future__ import annotations

import pytest

from rag.operations.conversation import resolved_history
from rag.ranking.turns import depends_on_earlier, resolve_followup
from rag.service import QAService


def converse(service: QAService, turns: list[str]):  # type: ignore[no-untyped-def]
    """The answer to the last turn, asked after the others as a stored conversation is."""
    return service.ask(turns[-1], history=resolved_history(service, turns[:-1]))


@pytest.mark.parametrize(
    "question",
    [
        "What are the key responsibilities?",
        "What skills should a senior have?",
        "What is the interview process?",
        "Is it legal to ask about salary history?",
        "Are there any red flags to watch for?",
        "Which skills matter most for entry level?",
    ],
)
def test_a_complete_question_stands_on_its_own(question: str) -> None:
    assert not depends_on_earlier(question)


@pytest.mark.parametrize(
    "question",
    [
        "And in Seattle?",
        "what about seniors?",
        "What skills should they have?",
        "And a senior one?",
        "seniors?",
        "how long does that take?",
        "And what about for a senior engineer there?",
        "salary in boston",
    ],
)
def test_a_turn_that_points_back_depends_on_the_earlier_ones(question: str) -> None:
    assert depends_on_earlier(question)


@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        (["What do AI engineers earn in Austin?", "What are the key responsibilities?"], "Key Responsibilities"),
        (["red flags for a senior hire?", "What skills should a senior have?"], "Skills"),
    ],
)
def test_a_complete_second_question_is_answered_as_if_asked_alone(
    service: QAService, turns: list[str], expected: str
) -> None:
    answer = converse(service, turns)
    assert answer.resolved_question == turns[-1]
    alone = service.ask(turns[-1])
    assert [c.chunk_id for c in answer.citations] == [c.chunk_id for c in alone.citations]
    assert "Red Flags" not in answer.answer and "Austin" not in answer.answer


def test_a_chain_of_follow_ups_keeps_the_city_and_adds_the_level(service: QAService) -> None:
    turns = ["What do AI engineers earn in Austin?", "And in Seattle?", "And what about for a senior engineer there?"]
    answer = converse(service, turns)
    assert answer.resolved_question == "What do senior engineers earn in Seattle?"
    quoted = " ".join(c.quote for c in answer.citations)
    assert "Seattle $160,000 - $220,000" in quoted and "Senior Level (5+ years): $160,000 - $200,000+" in quoted
    assert "Austin" not in answer.answer


def test_a_third_turn_keeps_the_level_the_second_set(service: QAService) -> None:
    turns = ["What should we pay a mid-level engineer?", "And a senior one?", "What about in Boston?"]
    answer = converse(service, turns)
    assert answer.resolved_question == "What should we pay a senior engineer in Boston?"
    quoted = " ".join(c.quote for c in answer.citations)
    assert "Senior Level (5+ years)" in quoted and "Boston $145,000" in quoted
    assert "Mid-Level" not in quoted


def test_a_pronoun_after_a_swap_asks_about_the_new_level(service: QAService) -> None:
    turns = ["red flags for a senior hire?", "and for juniors?", "What skills should they have?"]
    answer = converse(service, turns)
    assert answer.citations[0].section.startswith("Experience Level Requirements Matrix > Entry Level")
    assert "Red Flags" not in answer.answer and "Senior" not in answer.citations[0].section


@pytest.mark.parametrize(
    "turns",
    [
        ["What do AI engineers earn in Austin?", "And in Seattle?", "And what about for a senior engineer there?"],
        ["What are the must-have qualifications?", "and the nice to haves?"],
        ["red flags for a senior hire?", "and for juniors?", "What skills should they have?"],
    ],
)
def test_the_rewritten_question_is_one_sentence(service: QAService, turns: list[str]) -> None:
    resolved = converse(service, turns).resolved_question
    assert resolved.endswith("?") and resolved.count("?") == 1
    assert resolved[0].isupper() or resolved[0] == turns[-2][0]
    # No second question run on into the first ("… in Austin What are …").
    assert not any(w in resolved.split()[1:] for w in ("What", "Which", "How"))


@pytest.mark.parametrize(
    ("earlier", "turn", "resolved"),
    [
        ("How many days of annual leave do I get?", "and sick leave?", "How many days of sick leave do I get?"),
        (
            "Does the company pay for health insurance?",
            "what about dental insurance",
            "Does the company pay for dental insurance?",
        ),
        (
            "How many days of annual leave do I get?",
            "and for contractors?",
            "How many days of annual leave do I get for contractors?",
        ),
    ],
)
def test_a_tail_that_shares_the_head_word_swaps_its_modifier(earlier: str, turn: str, resolved: str) -> None:
    # Read from the words alone: no groups of alternatives of any document are needed.
    assert resolve_followup(turn, [earlier]) == resolved
