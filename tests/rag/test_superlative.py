"""A superlative question over a table lands on the row at the extreme of the figure it compares."""

from __future__ import annotations

import pytest

from rag.models import Chunk
from rag.ranking.superlative import direction, extreme_row
from rag.service import QAService


def row(n: int, text: str) -> Chunk:
    return Chunk(f"r{n}", "guide.md", ("Pay",), "table_row", text, n * 100, n * 100 + len(text), "City Salary Factor")


ROWS = [
    row(1, "Austin $135,000 - $185,000 Moderate (1.1x national average)"),
    row(2, "Boston $145,000 - $195,000 High (1.3x national average)"),
    row(3, "Remote $120,000 - $180,000 Varies by company policy"),
    row(4, "Denver $125,000 - $170,000 Moderate (1.4x national average)"),
]


@pytest.mark.parametrize(
    ("question", "label"),
    [
        ("Which city pays the most?", "Boston"),
        ("Which city has the lowest salaries?", "Denver"),  # by the middle of the range
        ("Which city has the highest cost-of-living factor?", "Denver"),
        ("Where is the multiplier smallest?", "Austin"),
    ],
)
def test_the_row_at_the_extreme_of_the_figure_asked_for(question: str, label: str) -> None:
    found = extreme_row(question, ROWS)
    assert found is not None and found.text.startswith(label)


def test_no_row_without_a_superlative_or_with_a_tie() -> None:
    assert direction("What does Boston pay?") == 0
    assert direction("Which pays the most and which the least?") == 0
    assert extreme_row("What does Boston pay?", ROWS) is None
    tied = [row(1, "Austin $100"), row(2, "Boston $100")]
    assert extreme_row("Which pays the most?", tied) is None
    assert extreme_row("Which pays the most?", [row(1, "Healthcare HIPAA"), row(2, "Finance risk")]) is None


def test_the_best_paying_metro_of_the_guide(service: QAService) -> None:
    answer = service.ask("In which metro area do AI engineers get paid the most?")
    assert answer.citations[0].quote.startswith("San Francisco Bay Area $180,000 - $250,000")
    top = service.retrieve("Which metro has the lowest salaries for AI engineers?", 3)[0].chunk
    assert top.text.startswith("Denver")
    # Chicago and Denver share the lowest factor (1.0x): neither is singled out.
    metros = [c for c in service.index().retriever.chunks if "Cost of Living" in c.context]
    assert len(metros) == 8
    assert extreme_row("Which metro has the lowest cost-of-living factor?", metros) is None


@pytest.mark.parametrize(
    ("question", "first"),
    [
        ("What's the top salary for an AI engineer in Seattle?", "Seattle"),  # one named row is the answer
        ("Besides San Francisco, which metro pays the most?", "Seattle"),  # the set-aside row is not a candidate
        ("Which city has the lowest pay for AI engineers?", "Denver"),  # "city" asks for a kind, names no row
    ],
)
def test_named_and_set_aside_rows(service: QAService, question: str, first: str) -> None:
    assert service.retrieve(question, 3)[0].chunk.text.startswith(first)


def test_a_comparison_of_two_rows_is_not_a_superlative_over_the_table(service: QAService) -> None:
    ranked = [r.chunk.text.split()[0] for r in service.retrieve("Which pays the most, Austin or Denver?", 2)]
    assert sorted(ranked) == ["Austin", "Denver"]


def test_a_follow_up_swaps_the_extreme(service: QAService) -> None:
    earlier = "Which metro pays AI engineers the most?"
    assert service.resolve("and the least?", [earlier]) == "Which metro pays AI engineers the least?"
    assert service.ask("and the least?", None, [earlier]).citations[0].quote.startswith("Denver")
