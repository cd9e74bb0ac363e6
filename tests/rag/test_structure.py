"""The guide's flattened structure is recovered: headings nest, units keep exact offsets."""

from __future__ import annotations

import logging
import statistics
from pathlib import Path

import pytest

from rag.reading.chunking import chunk_documents
from rag.reading.documents import load_documents
from tests.conftest import CORPUS

# A sample of the guide's outline, written by reading the guide: where a unit's text starts -> its section.
OUTLINE = {
    "Seattle $160,000 - $220,000": "Compensation Guide > Regional Salary Data",
    "National Average Range: $130,000 - $200,000 annually": "Compensation Guide > Salary Information",
    "Mid-Level (3-5 years): $130,000 - $180,000": "Compensation Guide > Salary Information > Experience-Based Breakdown",
    "What is regularization and why is it important?": (
        "Interview Questions > Technical/Functional Questions > Machine Learning Fundamentals"
    ),
    "Tell me about a time when you had to learn a new AI technique": (
        "Interview Questions > Behavioral Questions > Problem-Solving and Innovation"
    ),
    "How do you stay current with the rapidly evolving field": "Interview Questions > Culture Fit Questions",
    "Master's degree or PhD in AI": "Primary Job Description Template > Requirements > Nice-to-Have Qualifications",
    "Red Flags: Only theoretical knowledge of production LLM systems": (
        "Experience Level Requirements Matrix > Mid-Level (3-5 years)"
    ),
    "Builds and optimizes RAG pipelines": (
        "Experience Level Requirements Matrix > Mid-Level (3-5 years) > Core AI Engineering Skills"
    ),
    "Finance Risk management, regulatory compliance": "Context Variations > Industry Considerations",
    "Startups need AI Engineers who can wear multiple hats": "Context Variations > Startup Environment",
    "Kaggle: Identify top performers": "Hiring Tips > Quick Sourcing Guide > Top Platforms for AI Engineers",
    "Inability to explain concepts simply": "Hiring Tips > Red Flags to Avoid",
    "How important is a PhD for AI Engineer roles?": "FAQ Section > AI Engineer Hiring - For Employers",
    "What soft skills are most important": "FAQ Section > AI Engineer Careers - For Job Seekers",
    "Growth Rate: 35% projected job growth": "Key Highlights",
}


@pytest.fixture(scope="module")
def guide_chunks():  # type: ignore[no-untyped-def]
    return chunk_documents(load_documents(CORPUS))


def test_every_chunk_quotes_its_file_exactly(guide_chunks, guide_text: str) -> None:  # type: ignore[no-untyped-def]
    assert len(guide_chunks) > 100
    for chunk in guide_chunks:
        assert guide_text[chunk.start : chunk.end] == chunk.text
        assert chunk.text == chunk.text.strip() and not chunk.text.startswith("•")


def test_sections_follow_the_guide_outline(guide_chunks) -> None:  # type: ignore[no-untyped-def]
    for opening, section in OUTLINE.items():
        matches = [c for c in guide_chunks if c.text.startswith(opening)]
        assert len(matches) == 1, opening
        assert matches[0].section_path == section, opening


def test_units_are_rows_bullets_and_question_answer_pairs(guide_chunks) -> None:  # type: ignore[no-untyped-def]
    kinds = {c.kind for c in guide_chunks}
    assert {"bullet", "table_row", "qa", "paragraph"} <= kinds
    seattle = next(c for c in guide_chunks if c.text.startswith("Seattle"))
    assert seattle.kind == "table_row"
    assert seattle.context == "Metro Area Average Salary Cost of Living Factor"
    assert "Regional Salary Data" in seattle.index_text and seattle.context in seattle.index_text
    phd = next(c for c in guide_chunks if c.text.startswith("How important is a PhD"))
    assert phd.kind == "qa" and "not required for most AI Engineer positions" in phd.text
    words = [len(c.text.split()) for c in guide_chunks]
    assert max(words) <= 200
    assert 8 <= statistics.median(words) <= 60


def test_ids_are_stable_and_unique(guide_chunks) -> None:  # type: ignore[no-untyped-def]
    again = chunk_documents(load_documents(CORPUS))
    assert [c.chunk_id for c in again] == [c.chunk_id for c in guide_chunks]
    assert len({c.chunk_id for c in guide_chunks}) == len(guide_chunks)


def test_markdown_and_html_use_their_heading_markup(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text(
        "# Benefits\n\n## Leave\n\nParental leave is 16 weeks.\n\n- Sabbatical after 5 years\n", encoding="utf-8"
    )
    (tmp_path / "page.html").write_text(
        "<html><body><h1>Policy</h1><h2>Travel</h2><p>Economy class &amp; trains.</p>"
        "<ul><li>Book early</li></ul></body></html>",
        encoding="utf-8",
    )
    documents = load_documents(tmp_path)
    chunks = chunk_documents(documents)
    texts = {d.source: d.text for d in documents}
    by_text = {c.text: c for c in chunks}
    assert by_text["Parental leave is 16 weeks."].section_path == "Benefits > Leave"
    assert by_text["Sabbatical after 5 years"].kind == "bullet"
    assert by_text["Economy class &amp; trains."].section_path == "Policy > Travel"
    assert by_text["Book early"].section_path == "Policy > Travel"
    for chunk in chunks:
        assert texts[chunk.source][chunk.start : chunk.end] == chunk.text


def test_unreadable_document_is_skipped_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "good.txt").write_text("Title\n\nA readable paragraph about hiring.\n", encoding="utf-8")
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\x00 not utf-8 \xc3\x28")
    with caplog.at_level(logging.WARNING):
        documents = load_documents(tmp_path)
    assert [d.source for d in documents] == ["good.txt"]
    assert "bad.txt" in caplog.text
