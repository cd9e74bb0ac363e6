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

from rag.models import Chunk
from rag.reading.text import STOPWORDS, content_terms, raw_words

Shape = Literal["fact", "list", "section", "table", "comparison"]

# A question that asks for several things: "list", "all", "what are", "give me" (but not "give me
# one"), "examples of", "name the".
LIST_CUE = re.compile(
    r"\b(?:list|all\s+(?:of\s+)?the|every\s+(?:one|single)|enumerate|what\s+are|what're|which\s+are"
    r"|give\s+me\s+(?!an?\b|one\b|a\s+single\b)|examples?\s+of|name\s+(?:the|some|a\s+few))\b",
    re.IGNORECASE,
)
# Of those, the cues that ask for a whole list whatever it is called; the others ("what are the …",
# "give me …") ask as often for one fact ("what are the growth prospects?") and need the list named.
# ("all the" and "every one", not "all" alone: "do all engineers need a PhD?" asks for one fact.)
STRONG_LIST_CUE = re.compile(
    r"\b(?:list|all\s+(?:of\s+)?the|every\s+(?:one|single)|enumerate|examples?\s+of|name\s+(?:the|some|a\s+few))\b",
    re.IGNORECASE,
)
# Plurals that are lists whatever their heading ("give me interview questions on …").
LIST_NOUNS = frozenset({"question", "exampl", "option", "way", "step", "tip", "thing", "item", "type", "kind", "idea"})
# "what perks", "which platforms", "what soft skills": a plural right after what/which asks for several.
WHAT_PLURAL = re.compile(r"\b(?:what|which)\s+((?:[a-z-]+\s+){0,2}?)([a-z-]{3,}s)\b", re.IGNORECASE)
AUXILIARIES = frozenset(
    {"are", "were", "do", "does", "did", "should", "would", "could", "can", "will", "must", "might", "may"}
)
DETERMINERS = frozenset({"the", "a", "an", "this", "that", "these", "those", "our", "your", "my", "their", "its"})
# A question about a part of the document as a whole, rather than one fact in it.
SECTION_CUE = re.compile(
    r"\b(?:look(?:ing)?\s+for\s+in|looks?\s+like|(?:what|why|how)\s+does\s+(?:the|this|our)\s+(?:guide|document|handbook|page)"
    r"\s+(?:say|advise|recommend|suggest|describe|cover)"
    r"|(?:tell|show)\s+me\s+(?:about|everything)|overview\s+of|summar(?:y|ise|ize)\s+(?:of\s+)?(?:the\s+)?"
    r"|what\s+(?:is|are)\s+expected\s+(?:of|from)|expectations?\s+(?:for|of)|what\s+about\b"
    r"|walk\s+me\s+through\s+(?:the|what)|what\s+(?:should|do|must)\s+(?:i|we)\s+(?:need\s+to\s+)?know\s+about"
    r"|break\s+down\s+the|everything\s+(?:about|on)|guidance\s+(?:on|for|about)|rundown\s+(?:of|on))",
    re.IGNORECASE,
)
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


def asks_for_a_list(
    question: str, heading: str, common: frozenset[str] = frozenset(), siblings_found: bool = False
) -> bool:
    """The question asks for several items: a cue that asks for a whole list ("list", "all"); a weaker
    one ("what are", "give me", "what/which" before a plural) with the list named (a word of its
    heading, or a plural such as "questions", or several of its items among the best passages:
    `siblings_found`); or a plural word that names the list (its heading:
    "responsibilities" for "Key Responsibilities"), other than the words most of the document uses
    (`common`: "engineers" names no list of an engineering guide)."""
    if STRONG_LIST_CUE.search(question):
        return True
    plurals = {w for w in raw_words(question) if is_plural(w)}
    # A weaker cue asks for the list it names: by a word of its heading, or a plural that is a list.
    names_it = (
        siblings_found
        or bool(set(content_terms(question)) & set(content_terms(heading)))
        or any(set(content_terms(word)) & LIST_NOUNS for word in plurals)
    )
    if LIST_CUE.search(question):
        return names_it
    for match in WHAT_PLURAL.finditer(question):
        between = match.group(1).split()
        # "what soft skills" asks for several; "what do engineers earn" does not ("do" is no adjective).
        if not is_plural(match.group(2)) or any(word.lower() in STOPWORDS for word in between):
            continue
        # A verb in -s is no plural: it ends the question after a noun ("what salary band applies?")
        # or goes on to its object ("what remains the…"); a plural noun goes on to what is asked of it
        # ("which platforms should…", "what perks come…") or stands alone ("which platforms?").
        after = question[match.end() :].split(maxsplit=1)
        following = after[0].lower().strip("?.!,") if after else ""
        if following in DETERMINERS or (between and not following):
            continue
        # After a two-word noun phrase an -s word is its verb unless an auxiliary follows
        # ("what general warning signs should…" asks for several; "what salary band applies for…" not).
        if len(between) == 2 and following not in AUXILIARIES:
            continue
        return names_it
    named = set(content_terms(heading)) - common
    return any(set(content_terms(word)) & named for word in plurals)


def asks_about_a_section(question: str) -> bool:
    return bool(SECTION_CUE.search(question))


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
