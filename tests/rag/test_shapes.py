"""Answer shapes: a list question gets the whole list, a table row its column headers, a question
about a part of the guide that part, and each constraint of a several-part question its passage."""

from __future__ import annotations

import re

import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.answering.extractive import ExtractiveAnswerer
from rag.answering.shapes import (
    MAX_LIST_ITEMS,
    Asked,
    Outline,
    asks_about_a_section,
    asks_for_a_list,
    row_cells,
    table_columns,
)
from rag.models import Answer, Chunk, RetrievedChunk
from rag.service import QAService

SALARY_ROWS = [
    "San Francisco Bay Area $180,000 - $250,000 High (1.8x national average)",
    "Seattle $160,000 - $220,000 High (1.4x national average)",
    "Remote $120,000 - $180,000 Varies by company policy",
]


@pytest.mark.parametrize(
    ("question", "heading", "expected"),
    [
        ("What benefits should we offer?", "What We Offer", True),  # what + plural + auxiliary
        ("Which platforms?", "Top Platforms", True),  # a plural alone
        ("List the nice-to-have qualifications", "Nice-to-Have Qualifications", True),
        ("what are the key responsibilities?", "Key Responsibilities", True),
        ("Give me interview questions on ML", "Machine Learning Fundamentals", True),
        ("Give me an interview question on regularization", "Machine Learning Fundamentals", False),
        ("What salary band applies?", "Experience-Based Breakdown", False),  # a verb in -s
        ("what remains the human engineer's job?", "Key Responsibilities", False),
        ("What do engineers earn in Seattle?", "Regional Salary Data", False),  # "do" is no adjective
        ("How much is the learning budget?", "What We Offer", False),
        ("Which responsibilities come first?", "Key Responsibilities", True),
        ("What are all the perks?", "What We Offer", True),
        ("Do all AI engineers need a PhD?", "FAQ Section", False),
    ],
)
def test_a_list_is_asked_for_by_cue_plural_or_heading(question: str, heading: str, expected: bool) -> None:
    assert asks_for_a_list(question, heading) is expected


def test_words_the_whole_document_uses_name_no_list() -> None:
    # "engineers" would name "… for AI Engineers" in an engineering guide: common words are left out.
    assert asks_for_a_list("Why do engineers matter?", "Top Platforms for AI Engineers")
    assert not asks_for_a_list("Why do engineers matter?", "Top Platforms for AI Engineers", frozenset({"engin"}))


def test_section_cues() -> None:
    assert asks_about_a_section("What should we look for in a senior AI engineer?")
    assert asks_about_a_section("What does the guide say about remote roles?")
    assert not asks_about_a_section("What should we pay a senior AI engineer?")


def test_a_flattened_tables_columns_are_told_apart_by_what_its_rows_hold() -> None:
    assert row_cells(SALARY_ROWS[1]) == ["Seattle", "$160,000 - $220,000", "High (1.4x national average)"]
    header = "Metro Area Average Salary Cost of Living Factor"
    assert table_columns(header, SALARY_ROWS) == ["Metro Area", "Average Salary", "Cost of Living Factor"]
    # Rows of words only give no reliable cells: no columns are made up.
    text_rows = ["Healthcare HIPAA compliance, FDA regulations Experience with medical imaging"]
    assert table_columns("Industry Key Requirements Special Considerations", text_rows) == []


def chunk(n: int, start: int, unit: int = -1, section: tuple[str, ...] = ("Tips",), kind: str = "bullet") -> Chunk:
    return Chunk(f"c{n}", "doc.txt", section, kind, f"text {n}", start, start + 6, "", unit)  # type: ignore[arg-type]


def test_a_lists_items_are_its_units_in_reading_order() -> None:
    # Two pieces of one long bullet (unit 10), a bullet, then a paragraph that ends the list.
    pieces = [chunk(3, 30), chunk(2, 17, unit=10), chunk(1, 10), chunk(4, 40, kind="paragraph")]
    outline = Outline.of(pieces)
    assert [c.chunk_id for c in outline.list_items(pieces[1])] == ["c1", "c3"]
    assert [c.chunk_id for c in outline.run_of(pieces[3])] == ["c4"]


# -- through the service, on the guide ------------------------------------------------------------


def quotes_exact(answer: Answer, guide_text: str) -> None:
    for citation in answer.citations:
        assert guide_text[citation.start : citation.end] == citation.quote
    assert sorted(int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)) == [c.n for c in answer.citations]


@pytest.mark.slow
def test_a_list_question_gets_every_item_in_the_guides_order(service: QAService, guide_text: str) -> None:
    answer = service.ask("What are the key responsibilities of an AI engineer?")
    assert answer.shape == "list"
    lines = answer.answer.split("\n")
    assert lines[0] == "Key Responsibilities:"
    assert len(answer.citations) == 10 and all(line.startswith("- ") for line in lines[1:])
    assert answer.citations[0].quote.startswith("Design and develop machine learning models")
    assert answer.citations[-1].quote.startswith("Document AI solutions")
    starts = [c.start for c in answer.citations]
    assert starts == sorted(starts)
    quotes_exact(answer, guide_text)


@pytest.mark.slow
def test_a_named_list_wins_over_a_better_ranked_passage_elsewhere(service: QAService) -> None:
    answer = service.ask("Give me the ML fundamentals interview questions.")
    assert answer.shape == "list" and len(answer.citations) == 8
    assert all(c.section.endswith("Machine Learning Fundamentals") for c in answer.citations)


@pytest.mark.slow
def test_a_level_and_a_city_each_get_their_passage(service: QAService, guide_text: str) -> None:
    answer = service.ask("What should we pay a mid-level engineer in Seattle?")
    assert answer.shape == "comparison"
    assert [c.quote.split(" $")[0] for c in answer.citations] == ["Mid-Level (3-5 years):", "Seattle"]
    quotes_exact(answer, guide_text)


@pytest.mark.slow
def test_a_follow_up_keeps_the_level_and_adds_the_city(service: QAService) -> None:
    earlier = "What should we pay a mid-level engineer?"
    assert [c.quote for c in service.ask(earlier).citations] == ["Mid-Level (3-5 years): $130,000 - $180,000"]
    answer = service.ask("And in Seattle?", history=[earlier])
    assert [c.quote.split(" $")[0] for c in answer.citations] == ["Mid-Level (3-5 years):", "Seattle"]


@pytest.mark.slow
def test_a_table_row_reads_under_its_column_headers(service: QAService, guide_text: str) -> None:
    answer = service.ask("What do AI engineers earn in Seattle?")
    assert answer.shape == "table"
    assert answer.answer.startswith(
        "Regional Salary Data (Metro Area | Average Salary | Cost of Living Factor): Seattle"
    )
    quotes_exact(answer, guide_text)


@pytest.mark.slow
def test_a_superlative_is_answered_by_one_row(service: QAService) -> None:
    answer = service.ask("Which metro pays the most?")
    assert [c.quote.split(" $")[0] for c in answer.citations] == ["San Francisco Bay Area"]


@pytest.mark.slow
def test_a_question_about_a_level_gets_that_levels_part(service: QAService, guide_text: str) -> None:
    answer = service.ask("What should we look for in a senior AI engineer?")
    assert answer.shape == "section"
    assert all(c.section.startswith("Experience Level Requirements Matrix > Senior Level") for c in answer.citations)
    quoted = " ".join(c.quote for c in answer.citations)
    for part in ("Architects multi-agent systems", "AI-Fluency Expectation", "Red Flags"):
        assert part in quoted
    quotes_exact(answer, guide_text)


@pytest.mark.slow
def test_a_level_s_red_flags_stay_that_levels(service: QAService) -> None:
    # "Red Flags to Avoid" is a list the question names too, but the senior level's own line answers it.
    answer = service.ask("what are the red flags for a senior hire?")
    assert answer.shape == "fact"
    assert [c.section for c in answer.citations] == ["Experience Level Requirements Matrix > Senior Level (6+ years)"]


@pytest.mark.slow
def test_a_fact_question_stays_one_short_passage(service: QAService) -> None:
    answer = service.ask("Give me an interview question on regularization")
    assert answer.shape == "fact" and len(answer.citations) == 1
    assert "regularization" in answer.citations[0].quote


@pytest.mark.slow
def test_two_lists_asked_by_name_come_whole(service: QAService) -> None:
    answer = service.ask("what are the must-have and nice-to-have qualifications?")
    sections = {c.section.rsplit(" > ", 1)[-1] for c in answer.citations}
    assert sections == {"Must-Have Qualifications", "Nice-to-Have Qualifications"}
    assert len(answer.citations) == 13


def test_a_long_list_is_shown_up_to_its_limit_and_says_how_many_more_and_where(embed_model: BaseEmbedding) -> None:
    text = "".join(f"tip number {i}\n" for i in range(15))
    items = []
    for i in range(15):
        start = text.index(f"tip number {i}\n")
        items.append(
            Chunk(
                f"c{i}",
                "doc.txt",
                ("Guide", "Tips"),
                "bullet",
                f"tip number {i}",
                start,
                start + len(f"tip number {i}"),
            )
        )
    answerer = ExtractiveAnswerer(embed_model, threshold=0.0)
    retrieved = [RetrievedChunk(items[4], 0.9, 0.9)]
    answer = answerer.compose("q", "List all the tips", "List all the tips", retrieved, asked=Asked(Outline.of(items)))
    assert answer.shape == "list"
    lines = answer.answer.split("\n")
    assert lines[0] == "Tips:"
    assert lines[1:13] == [f"- tip number {i} [{i + 1}]" for i in range(MAX_LIST_ITEMS)]
    assert lines[13] == "(3 more in Guide > Tips.)"
    assert [c.start for c in answer.citations] == [items[i].start for i in range(MAX_LIST_ITEMS)]
