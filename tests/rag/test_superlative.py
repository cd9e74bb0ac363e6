"""What a superlative asks: "the most" or "the least", which a follow-up can swap. (The rule that put a
table's extreme row first changed no held-out answer and was deleted in issue 23.)"""

from __future__ import annotations

from rag.ranking.superlative import direction
from rag.service import QAService


def test_the_direction_of_a_superlative() -> None:
    assert direction("Which city pays the most?") == 1
    assert direction("Where is the multiplier smallest?") == -1
    assert direction("What does Boston pay?") == 0
    assert direction("Which pays the most and which the least?") == 0


def test_one_named_row_is_the_answer(service: QAService) -> None:
    assert service.retrieve("What's the top salary for an AI engineer in Seattle?", 3)[0].chunk.text.startswith(
        "Seattle"
    )


def test_a_comparison_of_two_rows_gets_both(service: QAService) -> None:
    ranked = [r.chunk.text.split()[0] for r in service.retrieve("Which pays the most, Austin or Denver?", 2)]
    assert sorted(ranked) == ["Austin", "Denver"]


def test_a_follow_up_swaps_the_extreme(service: QAService) -> None:
    earlier = "Which metro pays AI engineers the most?"
    assert service.resolve("and the least?", [earlier]) == "Which metro pays AI engineers the least?"
