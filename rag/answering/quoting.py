"""What an answer quotes, shape by shape: the passage and the headings it reads under, a whole list
in the document's order, a part of a document within a word budget. Every quote is an exact span of
its source; what is not quoted (headings, a table's column labels) is the document's own words."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from rag.answering.shapes import (
    MAX_LIST_ITEMS,
    SECTION_WORDS,
    Asked,
    Outline,
    Shape,
    asks_for_a_list,
    table_columns,
)
from rag.models import Chunk, RetrievedChunk
from rag.ranking.counterpart import role_label
from rag.ranking.followup import row_label
from rag.reading.text import content_terms

# How many of the best passages are looked through for items of one list.
SIBLING_DEPTH = 3


@dataclass(frozen=True)
class Quote:
    chunk: Chunk
    start: int
    end: int
    score: float

    @property
    def text(self) -> str:
        offset = self.start - self.chunk.start
        return self.chunk.text[offset : offset + self.end - self.start]


# A part of a document: its source and heading path.
SectionRef = tuple[str, tuple[str, ...]]


@dataclass(frozen=True)
class QuoteGroup:
    """Quotes shown together: under `heading` as a list, or (no heading) each with its own lead-in."""

    heading: str
    quotes: list[Quote] = field(default_factory=list)
    more: str = ""  # what did not fit ("3 more in …")


def list_heading(chunk: Chunk) -> str:
    """A list's heading, with the one above it when the list is a sub-section (as `lead_in`)."""
    return " › ".join(chunk.section[-2:] if len(chunk.section) >= 3 else chunk.section[-1:])


def answer_span(chunk: Chunk) -> tuple[int, int]:
    """For a question/answer pair the answer is what to quote; otherwise the whole chunk."""
    if chunk.kind == "qa":
        split = re.search(r"\?\s*\n\s*", chunk.text)
        if split:
            return chunk.start + split.end(), chunk.end
    return chunk.start, chunk.end


def lead_in(chunk: Chunk, outline: Outline | None = None) -> str:
    """Bullets and table rows read as answers only with the heading they sit under, and the heading
    above it when the list is a sub-section ("Core AI Engineering Skills" recurs under every level:
    "Senior Level (6+ years) › Core AI Engineering Skills: …"). A table row adds its column headers,
    so that "High (1.4x national average)" reads as the cost-of-living factor it is. A labelled
    paragraph ("Red Flags: …") is one of a set of siblings, so it names the heading that tells them apart."""
    if chunk.kind in ("bullet", "table_row") and chunk.section:
        heading = list_heading(chunk)
        if chunk.kind == "table_row" and chunk.context:
            heading += table_header(chunk, outline)
        return heading + ": "
    if chunk.kind == "paragraph" and len(chunk.section) >= 2 and role_label(chunk):
        return f"{chunk.section[-1]} › "
    return ""


def table_header(row: Chunk, outline: Outline | None) -> str:
    """A row's column labels, " (Metro Area | Average Salary | Cost of Living Factor)", or its header
    line as it stands when the columns cannot be told apart."""
    rows = [c.text for c in outline.run_of(row)] if outline is not None else [row.text]
    columns = table_columns(row.context, rows)
    return f" ({' | '.join(columns) if columns else row.context})"


def heading_terms(chunk: Chunk) -> set[str]:
    """The words of the heading a chunk's list stands under, and of its table's header."""
    return set(content_terms(" ".join((chunk.section[-1] if chunk.section else "", chunk.context))))


def unit_terms(chunk: Chunk) -> set[str]:
    """The words a chunk matches a question with: its text, and the headings and context it is indexed under."""
    return set(content_terms(" ".join((chunk.section_path, chunk.context, chunk.text))))


def under_shared_heading(group: QuoteGroup, asked: Asked | None) -> QuoteGroup:
    """Loose passages that all read under the same headings (two rows of one table) are shown once
    under them, as a list: "Regional Salary Data (…): - Austin … [1] - Denver … [2]"."""
    if group.heading or len(group.quotes) < 2:
        return group
    outline = asked.outline if asked is not None else None
    lead_ins = {lead_in(quote.chunk, outline) for quote in group.quotes}
    if len(lead_ins) != 1 or not (shared := lead_ins.pop()):
        return group
    return replace(group, heading=shared.removesuffix(": ").removesuffix(" › "))


def list_asked(
    question: str, retrieved: Sequence[RetrievedChunk], asked: Asked
) -> tuple[Shape, list[QuoteGroup]] | None:
    """The whole list (or the part holding several lists) the question asks for: under the heading
    it names plainly, when a passage stands there; else the best passage's list. A best passage that
    names the heading's words in its own text keeps its place ("red flags for a senior" stays with
    the senior level's "Red Flags: …", not the general "Red Flags to Avoid"; "compensation factors"
    with "Compensation Factors: …", not the table with a "Cost of Living Factor" column)."""
    best = retrieved[0]
    outline = asked.outline
    for source, path in asked.headings[:1]:
        if not any(r.chunk.source == source and r.chunk.section[: len(path)] == path for r in retrieved):
            break
        chunks = [c for c in outline.under(source, path) if c.kind != "heading"]
        header = " ".join(dict.fromkeys(c.context for c in chunks if c.kind == "table_row"))
        words = set(content_terms(question)) & set(content_terms(f"{path[-1]} {header}"))
        if words and words <= set(content_terms(best.chunk.text)):
            break
        if not chunks or not asks_for_a_list(asked, path[-1], question):
            break
        # One list under the heading (its other lines aside) is the list asked for, if the question
        # names it where it stands below the heading ("red flags" of a level are not its skills);
        # several lists make a part, when the question plainly asks for all of it.
        runs = {(c.section, c.kind): c for c in reversed(chunks) if c.kind in ("bullet", "table_row")}
        if len(runs) == 1:
            first = next(iter(runs.values()))
            own = set(content_terms(" ".join(first.section[len(path) :]))) - outline.common
            if own and not own & set(content_terms(question)):
                break
            if first.kind == "table_row" and {row_label(c) for c in outline.run_of(first)} & asked.rows:
                break  # the question names a row of this table: it is about that row
            listed = whole_list(question, RetrievedChunk(first, best.score, best.dense_score), asked)
            return ("list", [listed]) if listed else None
        if len(words) < 2 and asked.shape != "list":
            break
        return "section", section_groups(outline, (source, path), best.score)
    listed = whole_list(question, best, asked, retrieved) if best.chunk.kind == "bullet" else None
    return ("list", [listed]) if listed else None


def whole_list(
    question: str,
    pick: RetrievedChunk,
    asked: Asked,
    retrieved: Sequence[RetrievedChunk] = (),
    named: bool = False,
) -> QuoteGroup | None:
    """Every item of `pick`'s list (bullets, or a table's rows), when it is an item of one and the
    question asks for that list: it asks for several items (`asks_for_a_list`), or a part of it names
    the list by its heading (`named`). Two of its items among the first `retrieved` passages say it is
    the list asked for, however the question words it ("warning signs" for "Red Flags to Avoid")."""
    chunk = pick.chunk
    outline = asked.outline
    heading = " ".join((chunk.section[-1] if chunk.section else "", chunk.context))
    members = outline.list_items(chunk)
    place = (chunk.source, chunk.section, chunk.kind)
    siblings = sum((r.chunk.source, r.chunk.section, r.chunk.kind) == place for r in retrieved[:SIBLING_DEPTH]) >= 2
    if chunk.kind not in ("bullet", "table_row") or not (named or asks_for_a_list(asked, heading, question, siblings)):
        return None
    if len(members) < 2:
        return None
    shown = members[:MAX_LIST_ITEMS]
    more = ""
    if len(members) > len(shown):
        more = f"({len(members) - len(shown)} more in {chunk.section_path}.)"
    quotes = []
    for item in shown:
        quotes.append(Quote(item, *answer_span(item), pick.score))
        if item.unit_start == chunk.unit_start and item.chunk_id != chunk.chunk_id:
            # The passage that was found is a later piece of this item ("… up roughly 144% …"): it
            # stays, after the item's first piece.
            quotes.append(Quote(chunk, *answer_span(chunk), pick.score))
    return QuoteGroup(lead_in(chunk, outline).removesuffix(": "), quotes, more)


def list_led_in(pick: RetrievedChunk, outline: Outline) -> list[QuoteGroup] | None:
    """A passage that leads into a list ("To request PPL, you'll need to email the following
    items:") says nothing without it: quoted, it brings the list that follows it."""
    chunk = pick.chunk
    if not chunk.text.rstrip().endswith(":"):
        return None
    at = outline.position(outline.unit_of(chunk)[-1])
    if at is None or at + 1 >= len(outline.chunks):
        return None
    following = outline.chunks[at + 1]
    if (
        following.kind != "bullet"
        or following.source != chunk.source
        or following.section[: len(chunk.section)] != chunk.section
    ):
        return None
    items = outline.list_items(following)
    shown = items[:MAX_LIST_ITEMS]
    more = f"({len(items) - len(shown)} more in {following.section_path}.)" if len(items) > len(shown) else ""
    heading = following.section[-1] if following.section else "List"
    return [
        QuoteGroup("", [Quote(chunk, *answer_span(chunk), pick.score)]),
        QuoteGroup(heading, [Quote(item, *answer_span(item), pick.score) for item in shown], more),
    ]


def section_groups(outline: Outline, section: SectionRef, score: float) -> list[QuoteGroup]:
    """A part of the document, quoted list by list in reading order within a word budget; the
    sub-sections that do not fit are named."""
    source, path = section
    chunks = outline.under(source, path)
    groups: list[QuoteGroup] = []
    words = 0
    left: list[str] = []
    for chunk in chunks:
        if chunk.kind == "heading":
            continue
        start, end = answer_span(chunk)
        size = len(chunk.text[start - chunk.start : end - chunk.start].split())
        if left or (words + size > SECTION_WORDS and groups):
            # Past the budget the rest is named, not quoted: no item of a list skipped for a shorter one.
            if chunk.section_path not in left:
                left.append(chunk.section_path)
            continue
        words += size
        heading = " › ".join(chunk.section[len(path) - 1 :]) if chunk.section else ""
        if chunk.kind == "table_row" and chunk.context:
            heading += table_header(chunk, outline)
        if not groups or groups[-1].heading != heading:
            groups.append(QuoteGroup(heading, []))
        groups[-1].quotes.append(Quote(chunk, start, end, score))
    if groups and left:
        groups[-1] = replace(groups[-1], more="More under: " + "; ".join(left) + ".")
    return groups
