"""A section about the document itself (a preview, a table of contents) steps aside for the section
that holds the answer, and is still found when it is what the question asks about."""

from __future__ import annotations

import pytest

from rag.preview import about_the_document
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
