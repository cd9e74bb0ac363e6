"""A section about the document itself (a preview, a table of contents) steps aside for the section
that holds the answer, and is still found when it is what the question asks about. A summary of the
subject ("Key Highlights") steps aside a little, except for a question that asks for a figure."""

from __future__ import annotations

import pytest

from rag.ranking.preview import about_the_document, sums_up_the_subject
from rag.service import QAService


@pytest.mark.parametrize(
    "section",
    [
        ("What You'll Get From This Guide",),
        ("Guide", "In this article"),
        ("Table of Contents",),
        ("Contents",),
    ],
)
def test_headings_about_the_document(section: tuple[str, ...]) -> None:
    assert about_the_document(section)


@pytest.mark.parametrize(
    "section",
    [
        ("Key Highlights",),
        ("Compensation Guide", "Salary Information"),
        ("Hiring Tips", "What to include in the guide's template"),
        ("Content moderation systems",),
    ],
)
def test_headings_about_the_subject(section: tuple[str, ...]) -> None:
    assert not about_the_document(section)


def test_the_preview_of_a_topic_steps_aside_for_the_topic(service: QAService) -> None:
    ranked = [r.chunk for r in service.retrieve("Which industries get specific requirements, like healthcare?", 5)]
    # "Industry-specific variations for healthcare, finance, and tech sectors" only promises the table.
    assert ranked[0].section[-1] == "Industry Considerations"
    assert ranked[0].text.startswith("Healthcare")
    assert any(about_the_document(c.section) for c in ranked), "stepped down, not dropped"


def test_a_question_about_the_guide_still_finds_its_preview(service: QAService) -> None:
    top = service.retrieve("What do you get from this guide?", 3)[0].chunk
    assert top.section == ("What You'll Get From This Guide",)


@pytest.mark.parametrize(
    ("section", "summary"),
    [
        (("Key Highlights",), True),
        (("Salary Guide", "At a Glance"), True),
        (("TL;DR",), True),
        (("Executive Summary",), True),
        (("Compensation Guide", "Salary Information"), False),
        (("Red Flags to Avoid",), False),
        (("What You'll Get From This Guide",), False),
    ],
)
def test_headings_over_a_summary(section: tuple[str, ...], summary: bool) -> None:
    assert sums_up_the_subject(section) is summary


def test_a_summary_line_steps_aside_for_the_section_that_answers(service: QAService) -> None:
    ranked = [
        r.chunk for r in service.retrieve("We hire remote-only. What should the job description add for that?", 10)
    ]
    # "Remote Friendly: 85% of positions offer remote/hybrid options" names the topic, and answers nothing.
    assert ranked[0].section != ("Key Highlights",)
    assert "Remote/Hybrid Work" in [c.section[-1] for c in ranked[:2]]
    assert any(c.section == ("Key Highlights",) for c in ranked), "stepped down, not dropped"


def test_a_question_for_a_figure_still_finds_the_summary_line(service: QAService) -> None:
    # Stepped down, the summary line fell below the remote-work section, which holds no figure: the
    # answer then quoted no percentage, and declined.
    answer = service.ask("How many AI engineer jobs let people work remotely, in percent?")
    assert answer.answerable
    assert "85%" in answer.citations[0].quote
