"""Superlatives over a table: "Which metro pays AI engineers the most?", "the highest cost-of-living
factor?", "the cheapest city?". No single row's words answer these; the answer is the row whose figure
is the largest (or smallest) among its table's rows. When the best chunk for such a question is a table
row, its table is read as numbers and the extreme row is ranked first.

Which figure counts comes from the question: a question about pay compares the dollar amounts (a range
by its midpoint), one about a factor or multiplier compares the "1.8x" figures, one about a share the
percentages; a question that names none compares the first kind the table's rows carry."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rag.models import Chunk

if TYPE_CHECKING:  # counterpart.py reads `direction` of this module through followup.py
    from rag.ranking.counterpart import Counterparts

MOST = re.compile(
    r"\b(?:most|highest|top|best[- ]paying|top[- ]paying|largest|biggest|greatest|maximum)\b", re.IGNORECASE
)
LEAST = re.compile(r"\b(?:least|lowest|cheapest|smallest|fewest|minimum|worst[- ]paying)\b", re.IGNORECASE)

MONEY = re.compile(r"\$\s?(\d[\d,]*(?:\.\d+)?)\s*([kKmM]\b)?")
TIMES = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s?x\b")
PERCENT = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s?%")

# The words that ask for each kind of figure, in the order a question naming none falls back on.
KINDS: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = (
    (MONEY, re.compile(r"\b(?:pay|pays|paid|paying|salar\w*|earn\w*|compensation|comp|wages?|money|make)\b", re.I)),
    (PERCENT, re.compile(r"\b(?:percent\w*|share|proportion)\b|%", re.I)),
    (TIMES, re.compile(r"\b(?:factor|multiplier|cost[- ]of[- ]living|times)\b", re.I)),
)


# "Which city …", "what metro …": the word after the interrogative names the kind asked for, not a row
# ("city" is a word of "New York City").
KIND_ASKED_FOR = re.compile(r"\b(?:which|what)\s+[\w-]+", re.IGNORECASE)


def without_kind_asked_for(question: str) -> str:
    return KIND_ASKED_FOR.sub(" ", question)


def direction(question: str) -> int:
    """+1 for "the most", -1 for "the least", 0 for neither (or both)."""
    most, least = bool(MOST.search(question)), bool(LEAST.search(question))
    return 0 if most == least else (1 if most else -1)


def figures(text: str, kind: re.Pattern[str]) -> list[float]:
    values = []
    for found in kind.finditer(text):
        value = float(found.group(1).replace(",", ""))
        if kind is MONEY and found.group(2):
            value *= 1_000 if found.group(2).lower() == "k" else 1_000_000
        values.append(value)
    return values


def extreme_row(question: str, rows: Sequence[Chunk]) -> Chunk | None:
    """The row of `rows` (one table) that a superlative question asks for, if it is one and the rows
    carry the figure it compares; None when no row stands alone at the extreme."""
    sign = direction(question)
    if not sign:
        return None
    present = [(kind, words) for kind, words in KINDS if sum(bool(figures(r.text, kind)) for r in rows) >= 2]
    if not present:
        return None
    compared = next((kind for kind, words in present if words.search(question)), present[0][0])
    valued = []
    for row in rows:
        values = figures(row.text, compared)
        if values:
            valued.append((sign * sum(values) / len(values), row))
    best = max(value for value, _ in valued)
    at_best = [row for value, row in valued if value == best]
    return at_best[0] if len(at_best) == 1 else None


# "besides X", "other than X", "apart from X" … up to the next punctuation mark.
SET_ASIDE = re.compile(
    r"\b(?:besides|beyond|other\s+than|apart\s+from|aside\s+from|except(?:\s+for)?|excluding|not\s+counting)\b"
    r"[^,;:?.!]*[,;:]?",
    re.IGNORECASE,
)


def set_aside_phrases(question: str) -> list[str]:
    """The phrases `question` sets aside ("besides San Francisco,")."""
    return [found.group(0) for found in SET_ASIDE.finditer(question)]


def extreme_row_id(question: str, best: Chunk, counterparts: Counterparts, set_aside: Sequence[str] = ()) -> str | None:
    """For a superlative question whose best chunk is a table row, the id of the row its table
    holds at the extreme ("pays the most": the highest salary). Rows the question names are the
    only candidates (one named row is simply the answer, not a superlative over the table); rows
    named in what it sets aside ("besides San Francisco") are none."""
    if best.kind != "table_row" or not direction(question):
        return None
    group, table = counterparts.table(best)
    if group is not None:
        # Rows the question names outside what it sets aside ("besides San Francisco" names no candidate).
        rest = question
        for phrase in set_aside:
            rest = rest.replace(phrase, " ")
        named = counterparts.named_in(counterparts.terms(without_kind_asked_for(rest)), group)
        if len(named) == 1:
            return None
        aside = counterparts.named_in(counterparts.terms(" ".join(set_aside)), group)
        table = [
            c for c in table if (member := counterparts.place(c, group)) not in aside and (not named or member in named)
        ]
    row = extreme_row(question, table)
    return row.chunk_id if row else None
