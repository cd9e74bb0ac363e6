"""What the asker sets aside ("besides location, …") is not searched for."""

from __future__ import annotations

import pytest

from rag.ranking.set_aside import without_set_aside
from rag.service import QAService


@pytest.mark.parametrize(
    ("question", "searched"),
    [
        ("Besides location, what moves pay?", "what moves pay?"),
        ("What else matters other than salary?", "What else matters ?"),
        ("Apart from Python; which languages count?", "which languages count?"),
        ("What are the red flags for seniors?", "What are the red flags for seniors?"),
        ("Besides salary?", "Besides salary?"),  # nothing would be left
    ],
)
def test_the_set_aside_phrase_is_dropped(question: str, searched: str) -> None:
    assert without_set_aside(question) == searched


def test_a_set_aside_topic_does_not_lead_the_ranking(ruled_service: QAService) -> None:
    question = "Other than the city, what drives an AI engineer's salary higher or lower?"
    top = ruled_service.retrieve(question, 3)
    assert any(r.chunk.text.startswith("Compensation Factors:") for r in top)
    assert not any(r.chunk.kind == "table_row" for r in top)  # no city's row
