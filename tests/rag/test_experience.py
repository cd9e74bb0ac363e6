"""Years of experience in a question reach the guide's level whose span holds them."""

from __future__ import annotations

import pytest

from rag.ranking.experience import Level, levels_in, with_level_named, years_asked
from rag.service import QAService

LEVELS = levels_in(["Entry Level (0-2 years)", "Mid-Level (3-5 years)", "Senior Level (6+ years)"])


def test_levels_are_read_from_the_labels() -> None:
    assert (Level("Entry Level", 0, 2), Level("Mid-Level", 3, 5), Level("Senior Level", 6, None)) == LEVELS


@pytest.mark.parametrize(
    ("question", "years"),
    [
        ("A candidate with 4 yrs experience", 4),
        ("someone with about four years of experience", 4),
        ("an engineer with 10+ years in industry", 10),
        ("Should the post demand 3 years of PyTorch?", None),  # years of a tool, not a level
        ("How many years of experience count as senior?", None),
        ("We need a contractor for 2 years", None),  # a duration
        ("red flags for a mid level hire (3-5 yrs)?", None),  # the span itself, already a level
    ],
)
def test_years_asked(question: str, years: int | None) -> None:
    assert years_asked(question) == years


def test_the_level_is_named_after_the_question() -> None:
    assert with_level_named("Pay for 4 yrs experience?", LEVELS) == "Pay for 4 yrs experience? (Mid-Level)"
    assert with_level_named("Pay with 8 years?", LEVELS) == "Pay with 8 years? (Senior Level)"
    assert (
        with_level_named("Pay for a Mid-Level engineer, 4 years?", LEVELS) == "Pay for a Mid-Level engineer, 4 years?"
    )


@pytest.mark.parametrize(
    ("question", "row"),
    [
        ("Our finalist has 7 years of experience. What salary band applies?", "Senior Level (5+ years)"),
        ("What pay fits an engineer with two years of experience?", "Entry Level (0-2 years)"),
    ],
)
def test_years_land_on_the_levels_salary_row(ruled_service: QAService, question: str, row: str) -> None:
    answer = ruled_service.ask(question)
    assert [c.quote.split(":")[0] for c in answer.citations] == [row]
