"""The shape of an answer, chosen per question from the document's structure: one fact, a whole
list, a part of the document, a table row under its column headers, or one passage per part of a
several-part question. Everything here reads the structure the chunks carry (headings, units,
kinds, a table's header line); nothing names a word of one document."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from rag.answering.asked_shape import SEVERAL
from rag.models import Chunk
from rag.reading.text import STOPWORDS, content_terms

Shape = Literal["fact", "list", "section", "table", "comparison"]

# A list is shown whole up to this many items; beyond, the answer says how many more and where.
MAX_LIST_ITEMS = 12
# A part of the document is quoted up to about this many words; what does not fit is named by section.
SECTION_WORDS = 200
# Ways of cutting a flattened header into columns that are tried, at most (a long header of a wide
# table would otherwise cost millions on the answer path).
MAX_HEADER_SPLITS = 5000
# Words that join the words of one column label ("Cost of Living Factor") and never start or end one.
CONNECTORS = frozenset({"of", "and", "or", "for", "to", "the", "in", "&", "-", "/", "per", "by"})


def is_plural(word: str) -> bool:
    word = word.lower()
    return len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")) and word not in STOPWORDS


def asks_for_a_list(asked: Asked, heading: str, question: str = "", siblings_found: bool = False) -> bool:
    """The question asks for the several items of a list: the learned classifier reads it as asking
    for a list or a procedure (`asked.shape`), and the list is the one asked for: its heading shares a
    word of the question, or several of its items are among the best passages (`siblings_found`:
    "warning signs" for "Red Flags to Avoid")."""
    if asked.shape not in SEVERAL:
        return False
    return siblings_found or bool(set(content_terms(question)) & (set(content_terms(heading)) - asked.outline.common))


@dataclass(frozen=True)
class Outline:
    """The chunks of every document in reading order: where a chunk's list, a section's content and
    a table's rows are found."""

    chunks: tuple[Chunk, ...]
    # Words most chunks use, which name no heading in particular.
    common: frozenset[str] = frozenset()

    @classmethod
    def of(cls, chunks: Sequence[Chunk], common: frozenset[str] = frozenset()) -> Outline:
        return cls(tuple(sorted(chunks, key=lambda c: (c.source, c.start))), common)

    # Each chunk's place in `chunks`, and each heading's span of places: chunks under one heading
    # stand together in reading order, so a part of a document is a slice, not a scan.
    places: dict[str, int] = field(init=False, repr=False, compare=False)
    spans: dict[tuple[str, tuple[str, ...]], tuple[int, int]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        spans: dict[tuple[str, tuple[str, ...]], tuple[int, int]] = {}
        for i, c in enumerate(self.chunks):
            for depth in range(1, len(c.section) + 1):
                first, _ = spans.get((c.source, c.section[:depth]), (i, i))
                spans[(c.source, c.section[:depth])] = (first, i + 1)
        object.__setattr__(self, "places", {c.chunk_id: i for i, c in enumerate(self.chunks)})
        object.__setattr__(self, "spans", spans)

    def position(self, chunk: Chunk) -> int | None:
        return self.places.get(chunk.chunk_id)

    def run_of(self, chunk: Chunk) -> list[Chunk]:
        """The run of chunks of `chunk`'s kind, document and section around it, uninterrupted by any
        other: one list, or one table's rows."""
        at = self.position(chunk)
        if at is None:
            return [chunk]

        def same(other: Chunk) -> bool:
            return (other.source, other.section, other.kind) == (chunk.source, chunk.section, chunk.kind)

        first = at
        while first > 0 and same(self.chunks[first - 1]):
            first -= 1
        last = at
        while last + 1 < len(self.chunks) and same(self.chunks[last + 1]):
            last += 1
        return list(self.chunks[first : last + 1])

    def list_items(self, chunk: Chunk) -> list[Chunk]:
        """The items of `chunk`'s list in the document's order, each as the first piece of its unit (a
        long bullet is cut into pieces at sentence ends; its first piece says what the item is)."""
        items: dict[int, Chunk] = {}
        for piece in self.run_of(chunk):
            items.setdefault(piece.unit_start, piece)
        return list(items.values())

    def unit_of(self, chunk: Chunk) -> list[Chunk]:
        """The pieces of `chunk`'s unit (a long bullet or paragraph cut at sentence ends), in order."""
        return [c for c in self.run_of(chunk) if c.unit_start == chunk.unit_start]

    def under(self, source: str, path: tuple[str, ...]) -> list[Chunk]:
        """Every chunk of `source` under the heading `path`, in reading order."""
        first, end = self.spans.get((source, path), (0, 0))
        depth = len(path)
        return [c for c in self.chunks[first:end] if c.section[:depth] == path]


@dataclass(frozen=True)
class Asked:
    """What a question asks of the documents' structure, as the retriever read it: the `outline` to
    take lists and parts from, a part asked about as a whole (`section`: source and heading path),
    and the headings the question names plainly (`headings`, best named first)."""

    outline: Outline
    section: tuple[str, tuple[str, ...]] | None = None
    headings: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # Labels of the table rows the question names ("Seattle", "NYC" for "New York City"): a question
    # about a row is answered by that row, not by its whole table.
    rows: frozenset[str] = frozenset()
    # The question's words that few passages use ("fundamentals", "Seattle"): what a passage must
    # match to count as answering something in particular.
    rare: frozenset[str] = frozenset()
    # The shape of answer it asks for, as the learned classifier read it (rag/answering/asked_shape.py).
    shape: str = "fact"
    # The part standing under an alternative it names ("a good mid-level engineer": that level's
    # section), when it asks for more than one thing: a several-part question whose parts all land
    # there is answered by that part.
    part: tuple[str, tuple[str, ...]] | None = None

    @property
    def whole_part(self) -> bool:
        """It asks about a part of the document as a whole ("what does the guide say about remote roles?")."""
        return self.shape == "section"


def table_columns(header: str, rows: Sequence[str]) -> list[str]:
    """The column labels of a table whose header was flattened into one line of words ("Metro Area
    Average Salary Cost of Living Factor"): as many as most rows have cells, where a row's cells
    are told apart by what they hold (words, a figure, words again). Empty when that is unclear."""
    counts = [len(row_cells(row)) for row in rows]
    if not counts:
        return []
    columns = max(set(counts), key=counts.count)
    if columns < 2 or counts.count(columns) * 3 < len(counts) * 2:
        return []
    words = header.split()
    if math.comb(len(words) - 1, columns - 1) > MAX_HEADER_SPLITS:
        return []  # a header too long to split by trying every way: shown as it stands
    best: tuple[float, list[int]] | None = None
    for cuts in itertools.combinations(range(1, len(words)), columns - 1):
        bounds = [0, *cuts, len(words)]
        groups = [words[a:b] for a, b in itertools.pairwise(bounds)]
        if any(g[0].lower() in CONNECTORS or g[-1].lower() in CONNECTORS for g in groups):
            continue
        if any(not g[0][0].isupper() and not g[0][0].isdigit() for g in groups):
            continue
        sizes = [len(g) for g in groups]
        mean = sum(sizes) / len(sizes)
        spread = sum((s - mean) ** 2 for s in sizes)
        if best is None or (spread, sizes) < (best[0], best[1]):
            best = (spread, sizes)
    if best is None:
        return []
    labels, at = [], 0
    for size in best[1]:
        labels.append(" ".join(words[at : at + size]))
        at += size
    return labels


FIGURE_TOKEN = re.compile(r"^[$€£]?\d")


def row_cells(row: str) -> list[str]:
    """A flattened row cut where what it holds changes: from words to a figure ("Seattle $160,000"),
    and from a figure to a capitalised word ("$220,000 High")."""
    tokens = row.split()
    cells: list[list[str]] = []
    for i, token in enumerate(tokens):
        previous = tokens[i - 1] if i else ""
        to_figure = bool(FIGURE_TOKEN.match(token)) and previous[:1].isalpha() and previous.lower() not in CONNECTORS
        to_words = token[:1].isupper() and bool(re.search(r"[\d)+%]$", previous))
        if not cells or to_figure or to_words:
            cells.append([])
        cells[-1].append(token)
    return [" ".join(cell) for cell in cells]
