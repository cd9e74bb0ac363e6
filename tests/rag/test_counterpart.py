"""A follow-up that swaps one alternative for another lands on the same place under the new one."""

from __future__ import annotations

import pytest

from rag.models import Chunk
from rag.ranking.counterpart import Counterparts, role_label
from rag.service import QAService


def chunk(n: int, section: tuple[str, ...], text: str, kind: str = "paragraph", context: str = "") -> Chunk:
    return Chunk(f"c{n}", "guide.md", section, kind, text, n * 100, n * 100 + len(text), context)  # type: ignore[arg-type]


LEVELS = ("Levels",)
CHUNKS = [
    chunk(1, (*LEVELS, "Junior"), "Skills: writes small scripts."),
    chunk(2, (*LEVELS, "Junior"), "Red Flags: has never shipped anything."),
    chunk(3, (*LEVELS, "Senior"), "Skills: designs whole systems."),
    chunk(4, (*LEVELS, "Senior"), "Red Flags: cannot mentor anyone."),
    chunk(5, (*LEVELS, "Principal"), "Skills: sets direction."),
    chunk(6, ("Pay",), "Austin $100", "table_row", "City Range"),
    chunk(7, ("Pay",), "Boston $120", "table_row", "City Range"),
    chunk(8, ("Pay",), "Chicago $110", "table_row", "City Range"),
]


@pytest.fixture(scope="module")
def counterparts() -> Counterparts:
    return Counterparts(CHUNKS, ())


def test_the_same_label_under_the_sibling_heading(counterparts: Counterparts) -> None:
    assert counterparts.find(CHUNKS[3], "and for juniors?") == CHUNKS[1]
    assert counterparts.find(CHUNKS[0], "what about senior?") == CHUNKS[2]


def test_the_row_of_the_new_label_in_the_same_table(counterparts: Counterparts) -> None:
    assert counterparts.find(CHUNKS[5], "And in Boston?") == CHUNKS[6]


def test_no_counterpart_when_the_place_does_not_exist_or_is_ambiguous(counterparts: Counterparts) -> None:
    assert counterparts.find(CHUNKS[3], "and for principal?") is None  # no red flags under Principal
    assert counterparts.find(CHUNKS[3], "and for juniors or principals?") is None  # two swaps
    assert counterparts.find(CHUNKS[3], "and in Boston?") is None  # Boston is not an alternative to Senior
    assert counterparts.find(CHUNKS[3], "and for seniors?") is None  # nothing is swapped


def test_role_labels_are_short_names_before_a_colon() -> None:
    assert role_label(CHUNKS[1]) == "red flags"
    assert role_label(chunk(9, LEVELS, "Expect this: a long sentence follows here.")) == "expect this"
    assert role_label(chunk(9, LEVELS, "A sentence that only mentions a ratio of 3:1 later.")) is None


@pytest.mark.parametrize(
    ("earlier", "followup", "section", "quote"),
    [
        (
            "What are the red flags for a senior AI engineer candidate?",
            "and for juniors?",
            "Entry Level (0-2 years)",
            "Red Flags: No production AI project exposure",
        ),
        (
            "What AI-fluency is expected of a mid-level hire?",
            "and at senior level?",
            "Senior Level (6+ years)",
            "AI-Fluency Expectation: Designs AI-augmented engineering processes",
        ),
        ("What do AI engineers earn in Austin?", "And in Seattle?", "Regional Salary Data", "Seattle $160,000"),
    ],
)
def test_follow_ups_on_the_real_guide_lead_with_the_counterpart(
    service: QAService, earlier: str, followup: str, section: str, quote: str
) -> None:
    answer = service.ask(followup, None, [earlier])
    assert section in answer.citations[0].section
    assert answer.citations[0].quote.startswith(quote)
    assert service.retrieve(followup, 3, history=[earlier])[0].chunk.text.startswith(quote)


def test_the_counterpart_of_a_runner_up_when_the_best_chunk_stands_under_no_alternative(service: QAService) -> None:
    earlier = "Our company is an early-stage startup; what should the job ad stress?"
    answer = service.ask("what about a remote position?", None, [earlier])
    assert answer.citations[0].section.endswith("Context Variations > Remote/Hybrid Work")
    assert "home office setup" in answer.answer


def test_a_full_question_is_not_pinned_to_the_earlier_turn(service: QAService) -> None:
    earlier = "What are the red flags for a senior AI engineer candidate?"
    question = "What is the salary range in Seattle?"
    assert service.resolve(question, [earlier]) == question


def test_a_chain_of_follow_ups_walks_the_levels(service: QAService) -> None:
    """Each turn is resolved against the ones before it, as a conversation's stored turns are."""
    history: list[str] = []
    landed = []
    # (The first turn as the README asks it: "What are the red flags for a senior AI engineer
    # candidate?" now ranks the general "Red Flags to Avoid" list first, the senior level's second.)
    for question in (
        "what are the red flags for a senior hire?",
        "and for juniors?",
        "and mid-level?",
    ):
        answer = service.ask(question, None, history)
        history.append(answer.resolved_question)
        landed.append((answer.citations[0].section.split(" > ")[-1], answer.citations[0].quote[:10]))
    assert landed == [
        ("Senior Level (6+ years)", "Red Flags:"),
        ("Entry Level (0-2 years)", "Red Flags:"),
        ("Mid-Level (3-5 years)", "Red Flags:"),
    ]


def test_a_question_naming_one_alternative_lands_under_it(service: QAService) -> None:
    # Similarity alone ranks the seniors' red flags first for this question.
    top = service.retrieve("Red flags for a mid-level AI engineer?", 3)[0].chunk
    assert top.section[-1] == "Mid-Level (3-5 years)" and top.text.startswith("Red Flags:")


def test_naming_both_alternatives_moves_nothing(service: QAService) -> None:
    retriever = service.index().retriever
    question = "Compare the red flags for entry-level vs senior AI engineers."
    for part in ("red flags for entry-level and senior engineers", question):
        best = retriever.search(part, 1, first=None)[0].chunk
        assert retriever.counterparts.find(best, part) is None


def test_a_word_of_the_table_header_names_no_row(service: QAService) -> None:
    retriever = service.index().retriever
    named = retriever.members.named("Which of the listed metro areas pays the most?", retriever.synonyms)
    assert named == []  # "area" is the header's ("Metro Area"), not the Bay Area row's
    assert {m for _, m, _ in retriever.members.named("Bay Area pay?", retriever.synonyms)} == {"San Francisco Bay Area"}
