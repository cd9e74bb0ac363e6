"""Plain data passed between layers: a chunk of the guide, a retrieved chunk, a citation, an answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from rag.reading.markup import has_markup, plain_text

ChunkKind = Literal["paragraph", "bullet", "table_row", "qa", "heading"]


@dataclass(frozen=True)
class Chunk:
    """A unit of the guide that answers a question on its own; `text` is verbatim `source_text[start:end]`
    (for Markdown and HTML, markup and all: `plain_text` is what a reader sees of it)."""

    chunk_id: str
    source: str
    section: tuple[str, ...]
    kind: ChunkKind
    text: str
    start: int
    end: int
    # Extra words that give the unit its meaning out of context (a table's header), never quoted.
    context: str = ""
    # Where the structural unit (bullet, row, Q&A pair, paragraph) this chunk is a piece of starts: a
    # long unit is cut at sentence ends, and a list's items are its units, not its pieces. -1: `start`.
    unit: int = -1

    @property
    def unit_start(self) -> int:
        return self.start if self.unit < 0 else self.unit

    @property
    def section_path(self) -> str:
        return " > ".join(self.section)

    @cached_property
    def plain_text(self) -> str:
        """`text` without its markup (link targets, `*`, table pipes, tags); `text` itself for plain text."""
        return plain_text(self.source, self.text)

    @property
    def index_text(self) -> str:
        """What gets embedded and indexed for BM25: the heading path and context, then the text as read."""
        parts = [self.section_path, self.context, self.plain_text]
        return "\n".join(part for part in parts if part)


@dataclass(frozen=True)
class RetrievedChunk:
    chunk: Chunk
    score: float
    dense_score: float = 0.0
    reader: float | None = None  # the reader's logit, when it read this passage


@dataclass(frozen=True)
class Citation:
    n: int
    chunk_id: str
    source: str
    section: str
    quote: str
    start: int
    end: int
    score: float
    # For a source with markup, `quote` is what a reader sees and this is the raw span `source_text[start:end]`;
    # None for plain text, whose quote is the raw span itself.
    source_quote: str | None = None


def cite(n: int, chunk: Chunk, start: int, end: int, span: str, score: float) -> Citation:
    """The citation of `span`, the text at `start:end` of `chunk`'s source: quoted as a reader sees it,
    with the raw span alongside when the source has markup."""
    if has_markup(chunk.source):
        quote = plain_text(chunk.source, span)
        return Citation(n, chunk.chunk_id, chunk.source, chunk.section_path, quote, start, end, score, span)
    return Citation(n, chunk.chunk_id, chunk.source, chunk.section_path, span, start, end, score)


@dataclass(frozen=True)
class Answer:
    query_id: str
    question: str
    answer: str
    answerable: bool
    citations: list[Citation] = field(default_factory=list)
    retrieved: list[RetrievedChunk] = field(default_factory=list)
    # The question as it was searched (after follow-up resolution), for logs and evaluation.
    resolved_question: str = ""
    # Which answerer wrote `answer`: "extractive", or the generator ("openai", "anthropic") when its reply passed verification.
    answerer: str = "extractive"
    # What the answer quotes (rag/answering/shapes.py): "fact", "list", "section", "table" or "comparison".
    shape: str = "fact"
    # How sure the service is that the documents answer the question (rag/answering/abstaining.py), for evaluation.
    confidence: float | None = None


def citation_payload(citation: Citation) -> dict[str, object]:
    payload: dict[str, object] = {
        "n": citation.n,
        "chunk_id": citation.chunk_id,
        "source": citation.source,
        "section": citation.section,
        "quote": citation.quote,
        "start": citation.start,
        "end": citation.end,
        "score": citation.score,
    }
    if citation.source_quote is not None:
        payload["source_quote"] = citation.source_quote
    return payload


def answer_payload(answer: Answer) -> dict[str, object]:
    """The contract's `/v1/query` response object (also what `rag ask --json` prints)."""
    return {
        "query_id": answer.query_id,
        "answer": answer.answer,
        "answerable": answer.answerable,
        "citations": [citation_payload(c) for c in answer.citations],
        "answerer": answer.answerer,
        "shape": answer.shape,
    }


def retrieved_payload(result: RetrievedChunk) -> dict[str, object]:
    chunk = result.chunk
    return {
        "chunk_id": chunk.chunk_id,
        "source": chunk.source,
        "section": chunk.section_path,
        "text": chunk.text,
        "start": chunk.start,
        "end": chunk.end,
        "score": round(result.score, 6),
    }
