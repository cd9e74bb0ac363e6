"""Markdown read with a CommonMark parser: blocks are exact spans of the source, headings nest into the
section path, front matter and code give nothing, list items carry their lead-in and table rows their
header, and what is indexed and quoted is the text without its markup. On small samples and on the
real 18F handbook pages (read where they lie, never copied)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from llama_index.core.base.embeddings.base import BaseEmbedding

from api.app import create_app
from evals.corpora import CORPORA
from evals.metrics import citations_valid
from rag.models import Chunk, Citation, citation_payload, cite
from rag.reading.chunking import chunk_documents
from rag.reading.documents import Document, load_documents, read_source_text
from rag.reading.markup import parse_html, parse_markdown, plain
from rag.service import QAService
from rag.settings import Settings

PAGES = CORPORA["18f"]
needs_pages = pytest.mark.skipif(not PAGES.is_dir(), reason="the 18F handbook pages are not beside the project")

# What no plain text may hold: strong emphasis, a link's target, a table pipe, code backticks, a template tag.
MARKUP = ("**", "](", "|", "`", "{%", "<a ", "</")
LEADING_MARKER = re.compile(r"^(?:#{1,6}\s|[-*+]\s|\d+[.)]\s|>)")

SAMPLE = """---
title: Engineering Handbook
tags: [a, b]
---

# Engineering Handbook

Intro with **bold**, _emphasis_, `code`, a [link](https://example.com/x "t") and <b>tags</b>.

## Roles and *duties*

Tech leads are responsible for:

- reviewing **design** documents
  and [RFCs][rfc]
  - nested: pairing with `juniors`
- hiring \\*all\\* engineers
1. an ordered list right after

Team [Alpha](http://a.example) <span>owns</span> on-call
------------------------------------------------------

| Level | Salary **band** | Notes |
|-------|-----------------|-------|
| Junior | `$90k` | [grid](https://pay.example) |
| Senior | $150k | ~~old~~ new |

> A quote *with* markup
> over two lines.

```python
# not a heading
x = 1
```

<!-- a comment -->
<div>raw html</div>

    indented code

[rfc]: https://rfc.example
"""


def blocks_of(text: str) -> list[tuple[str, tuple[str, ...], str, str, str]]:
    return [
        (b.kind, b.section, text[b.start : b.end], plain(text[b.start : b.end]), b.context)
        for b in parse_markdown(text)
    ]


def test_front_matter_gives_no_block_and_its_title_heads_the_page() -> None:
    blocks = parse_markdown(SAMPLE)
    front_matter_end = SAMPLE.index("---\n\n#") + 3
    assert all(b.start >= front_matter_end for b in blocks)
    assert not any("tags:" in SAMPLE[b.start : b.end] or "title:" in SAMPLE[b.start : b.end] for b in blocks)
    # The page's title is its outermost heading, and its repeat as the first `#` heading is not nested again.
    assert {b.section[0] for b in blocks} == {"Engineering Handbook"}


def test_headings_nest_without_inline_markup_atx_and_setext() -> None:
    sections = {plain_text: section for _, section, _, plain_text, _ in blocks_of(SAMPLE)}
    assert sections["Tech leads are responsible for:"] == ("Engineering Handbook", "Roles and duties")
    # A setext heading (underlined) at level 2 replaces its sibling; its link and tag are text.
    assert sections["Junior $90k grid"] == ("Engineering Handbook", "Team Alpha owns on-call")


def test_every_block_is_an_exact_span_and_its_plain_text_has_no_markup() -> None:
    for kind, _, raw, text, _ in blocks_of(SAMPLE):
        assert raw == raw.strip() and raw in SAMPLE
        assert text and not any(m in text for m in MARKUP), (kind, raw, text)
        assert not LEADING_MARKER.match(text) and not LEADING_MARKER.match(raw), raw
    texts = [text for *_, text, _ in blocks_of(SAMPLE)]
    assert "Intro with bold, emphasis, code, a link and tags." in texts


def test_list_items_carry_their_lead_in_and_nested_items_their_parent() -> None:
    bullets = [(raw, text, context) for kind, _, raw, text, context in blocks_of(SAMPLE) if kind == "bullet"]
    assert bullets[0] == (
        "reviewing **design** documents\n  and [RFCs][rfc]",  # the item's own span, not its nested list's
        "reviewing design documents and RFCs",
        "Tech leads are responsible for:",
    )
    assert bullets[1][1:] == ("nested: pairing with juniors", "reviewing design documents and RFCs")
    assert bullets[2][1:] == ("hiring *all* engineers", "Tech leads are responsible for:")  # escaped stars are text
    # Another kind of marker starts another list, which the lead-in does not lead into.
    assert bullets[3][1:] == ("an ordered list right after", "")
    # The lead-in is a paragraph of its own as well, and it is indexed with every item.
    chunks = chunk_documents([Document("handbook.md", SAMPLE)])
    item = next(c for c in chunks if c.text.startswith("reviewing"))
    assert "Tech leads are responsible for:" in item.index_text and "](" not in item.index_text


def test_table_rows_are_blocks_with_their_header_and_no_pipes() -> None:
    rows = [(raw, text, context) for kind, _, raw, text, context in blocks_of(SAMPLE) if kind == "table_row"]
    assert rows == [
        ("| Junior | `$90k` | [grid](https://pay.example) |", "Junior $90k grid", "Level | Salary band | Notes"),
        ("| Senior | $150k | ~~old~~ new |", "Senior $150k old new", "Level | Salary band | Notes"),
    ]


def test_quotes_code_and_raw_html() -> None:
    kinds_and_texts = [(kind, text) for kind, _, _, text, _ in blocks_of(SAMPLE)]
    assert ("paragraph", "A quote with markup over two lines.") in kinds_and_texts
    everything = " ".join(text for _, text in kinds_and_texts)
    # Code blocks (fenced and indented) and raw HTML are not quoted; a reference definition is not text.
    assert "not a heading" not in everything and "indented code" not in everything
    assert "raw html" not in everything and "comment" not in everything and "rfc.example" not in everything


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("**Strong** and __strong__, *em* and _em_", "Strong and strong, em and em"),
        ("`inline code` stays, backticks go", "inline code stays, backticks go"),
        ("[text](https://x.example/a_b) and ![a picture](p.png)", "text and"),
        ("<https://auto.example/link>", "https://auto.example/link"),
        ("[ref link][id] and [collapsed][]", "ref link and collapsed"),
        ('a <span class="x">tag</span> <!-- c --> here', "a tag here"),
        ("| Seattle | $160,000 | High |", "Seattle $160,000 High"),
        ("- a list item", "a list item"),
        ("### A heading ###", "A heading"),
        ("1986\\. A year \\*not\\* emphasised", "1986. A year *not* emphasised"),
        ("Spread  over\n   lines  ", "Spread over lines"),
        ("Caf&eacute; &amp; bar", "Café & bar"),
        ("snake_case and 5 * 3", "snake_case and 5 * 3"),
        ("_a quote cut inside emphasis.", "a quote cut inside emphasis."),
        # What CommonMark leaves as text but the 18F pages mean as links, and their template tags.
        ('\\[Promotions page]({% page "/promotions" %}) explains', "Promotions page explains"),
        ("[Merit Principles] (https://www.mspb.gov/msp) are followed", "Merit Principles are followed"),
        ('in the {% slack_channel "parents" %} channel', "in the parents channel"),
        ('{% image "_img/x.png" "A screenshot" %}', ""),
    ],
)
def test_plain_removes_inline_markup(markdown: str, expected: str) -> None:
    assert plain(markdown) == expected


def test_html_blocks_are_whole_and_quoted_without_tags(tmp_path: Path) -> None:
    page = (
        "<h1>Policy</h1><h2>Travel <em>rules</em></h2><p>Book <b>economy</b> &amp; trains.</p><ul><li>Early</li></ul>"
    )
    (tmp_path / "page.html").write_text(page, encoding="utf-8")
    (chunk, item) = chunk_documents(load_documents(tmp_path))
    assert chunk.text == "Book <b>economy</b> &amp; trains." == page[chunk.start : chunk.end]
    assert chunk.plain_text == "Book economy & trains." and chunk.section_path == "Policy > Travel rules"
    assert item.kind == "bullet" and item.plain_text == "Early"
    assert [b.kind for b in parse_html(page)] == ["paragraph", "bullet"]


def test_a_markup_citation_quotes_plain_text_and_keeps_the_raw_span() -> None:
    raw = "Pay is **$150k** per [year](https://x)."
    source = f"# Pay\n\n{raw}\n"
    markdown = Chunk("c1", "pay.md", ("Pay",), "paragraph", raw, 7, 7 + len(raw))
    citation = cite(1, markdown, markdown.start, markdown.end, raw, 0.5)
    assert citation.quote == "Pay is $150k per year." and citation.source_quote == raw
    payload = citation_payload(citation)
    assert payload["source_quote"] == source[citation.start : citation.end]
    assert citations_valid("Pay is $150k per year. [1]", [payload], {"pay.md": source})
    assert not citations_valid("[1]", [{**payload, "quote": raw}], {"pay.md": source})  # markup in the quote
    assert not citations_valid("[1]", [{**payload, "start": 8}], {"pay.md": source})  # not the span
    # Plain text: the quote is the span, and the payload has no `source_quote` at all.
    text = Chunk("c2", "guide.txt", ("Pay",), "paragraph", raw, 7, 7 + len(raw))
    plain_citation = cite(1, text, text.start, text.end, raw, 0.5)
    assert plain_citation == Citation(1, "c2", "guide.txt", "Pay", raw, text.start, text.end, 0.5)
    assert "source_quote" not in citation_payload(plain_citation)
    assert text.index_text == f"Pay\n{raw}"


# -- the real 18F handbook pages -------------------------------------------------------------------
@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return {path.name: read_source_text(path) for path in sorted(PAGES.glob("*.md"))}


@pytest.fixture(scope="module")
def page_chunks() -> list[Chunk]:
    return chunk_documents(load_documents(PAGES))


@needs_pages
def test_every_chunk_of_the_handbook_is_its_exact_span_without_markup(
    pages: dict[str, str], page_chunks: list[Chunk]
) -> None:
    assert len(pages) == 13 and {c.source for c in page_chunks} == set(pages)
    for chunk in page_chunks:
        assert pages[chunk.source][chunk.start : chunk.end] == chunk.text
        text = chunk.plain_text
        assert text and not any(m in text for m in MARKUP), (chunk.source, chunk.text, text)
        assert not LEADING_MARKER.match(text), (chunk.source, text)
        assert "http" not in text, (chunk.source, text)  # every link in these pages has its own text
        assert not any(m in chunk.context for m in ("**", "](", "`")), chunk.context


@needs_pages
def test_front_matter_of_the_handbook_gives_nothing(pages: dict[str, str], page_chunks: list[Chunk]) -> None:
    for name, text in pages.items():
        assert text.startswith("---")
        end = text.index("\n---", 3) + 4
        title = re.search(r"^title: *(.+)$", text[:end], re.MULTILINE)
        chunks = [c for c in page_chunks if c.source == name]
        assert chunks and all(c.start >= end for c in chunks), name
        assert title and all(c.section[0] == title.group(1).strip() for c in chunks), name


@needs_pages
def test_handbook_lists_carry_their_lead_in(page_chunks: list[Chunk]) -> None:
    items = [
        c
        for c in page_chunks
        if c.source == "overtime.md" and c.context == "To accurately report travel time, we recommend keeping a log of:"
    ]
    assert [c.plain_text for c in items] == [
        "When you departed your home and arrived at the airport",
        "When your flights actually departed and arrived",
        "When you left the destination airport and arrived at your hotel",
    ]
    assert all(c.kind == "bullet" and c.section[-1] == "Calculating travel comp time" for c in items)
    # A nested list reads under its parent item.
    nested = next(c for c in page_chunks if c.plain_text.startswith("You can use Docusign templates"))
    assert nested.context.startswith("The Paid Parental Leave Request")


@needs_pages
def test_every_handbook_table_row_has_its_header(page_chunks: list[Chunk]) -> None:
    # These pages hold no table today; should one be added, each of its rows must carry the header.
    assert all(c.context for c in page_chunks if c.kind == "table_row")


# -- end to end: an index of the handbook, a question through the service ----------------------------
@pytest.fixture(scope="module")
def handbook_client(handbook_settings: Settings, embed_model: BaseEmbedding) -> Iterator[TestClient]:
    app = create_app(handbook_settings, QAService(handbook_settings, embed_model=embed_model))
    with TestClient(app) as client:
        yield client


def ask(client: TestClient, question: str) -> dict[str, Any]:
    response = client.post("/v1/query", json={"question": question})
    assert response.status_code == 200, response.text
    return response.json()


@needs_pages
@pytest.mark.parametrize(
    "question",
    [
        "How many weeks of paid parental leave do I get?",
        "What should I keep a log of to report travel comp time?",
        "How do I request paid parental leave?",
    ],
)
def test_answers_from_the_handbook_quote_plain_text_of_exact_spans(
    handbook_client: TestClient, pages: dict[str, str], question: str
) -> None:
    body = ask(handbook_client, question)
    assert body["answerable"] and body["citations"], body
    for citation in body["citations"]:
        source_text = pages[citation["source"]]
        assert source_text[citation["start"] : citation["end"]] == citation["source_quote"]
        assert citation["quote"] == plain(citation["source_quote"])
        assert not any(m in citation["quote"] for m in MARKUP), citation["quote"]
        assert f"{citation['quote']} [{citation['n']}]" in body["answer"]
    for marked in ("**", "](", "http"):
        assert marked not in body["answer"]
    assert citations_valid(body["answer"], body["citations"], pages)


@needs_pages
def test_a_question_answered_by_a_lead_in_retrieves_its_items(handbook_client: TestClient) -> None:
    response = handbook_client.post(
        "/v1/retrieve", json={"query": "What should I keep a log of to report travel time accurately?", "top_k": 5}
    )
    texts = [r["text"] for r in response.json()["results"]]
    assert "When your flights actually departed and arrived" in texts
