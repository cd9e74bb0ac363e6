"""The documents' groups of alternatives, which follow-ups swap (rag/ranking/turns.py): the first
words of the rows of one table (the cities), and the headings that are siblings under one parent
(entry, mid-level, senior). They come from the documents' structure, not from a list, so they hold
on any handbook."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

from rag.models import Chunk
from rag.reading.text import content_terms

CONNECTIVE = re.compile(
    r"^\s*(?:(?:and|but|or|so|also|ok|okay)\b[\s,]*)?(?:(?:what|how)\s+about|what\s+of|same\s+(?:for|in|at)|and)?\s*",
    re.IGNORECASE,
)
STARTS_WITH_CONNECTIVE = re.compile(
    r"^\s*(?:and|or|also|what\s+about|how\s+about|what\s+of|same\s+(?:for|in|at))\b", re.I
)
MAX_ELLIPTICAL_TERMS = 3
WORD_SPAN = re.compile(r"[^\s,;:!?()\[\]{}—–]+")

Slots = dict[str, int]  # stemmed term -> slot number


GroupKey = tuple[str, ...]  # ("table", source, section path, header) or ("heading", source, *parent headings)


def row_label(chunk: Chunk) -> str:
    """A table row's label: the words before its first figure, else its first word."""
    label = re.split(r"[$\d]", chunk.text, maxsplit=1)[0].strip() or chunk.text
    return chunk.text.split()[0] if label == chunk.text.strip() else label


def alternative_groups(chunks: Sequence[Chunk]) -> list[tuple[GroupKey, dict[str, set[str]]]]:
    """Groups of alternatives of one kind — the row labels of one table, the headings under one
    parent — each with its key and {label: its distinguishing terms}. A term most members share
    ("level", "questions") names the kind, not one alternative, and is left out."""
    groups: dict[GroupKey, dict[str, set[str]]] = defaultdict(dict)
    terms_of: dict[str, set[str]] = {}  # a heading recurs in every chunk under it

    def terms_in(text: str) -> set[str]:
        if text not in terms_of:
            terms_of[text] = set(content_terms(text))
        return terms_of[text]

    for chunk in chunks:
        if chunk.kind == "table_row":
            label = row_label(chunk)
            # A word of the table's header ("Metro Area") names the column, not the row ("Bay Area").
            own = set(terms_in(label)) - terms_in(chunk.context)
            groups[("table", chunk.source, chunk.section_path, chunk.context)][label] = own
        for depth in range(1, len(chunk.section)):
            key = ("heading", chunk.source, *chunk.section[:depth])
            groups[key][chunk.section[depth]] = set(terms_in(chunk.section[depth]))
    result = []
    for key, members in groups.items():
        if len(members) < 2:
            continue
        counts: dict[str, int] = defaultdict(int)
        for terms in members.values():
            for term in terms:
                counts[term] += 1
        distinct = {label: {t for t in terms if counts[t] <= len(members) // 2} for label, terms in members.items()}
        result.append((key, distinct))
    return result


def alternatives(chunks: Sequence[Chunk]) -> list[dict[str, set[str]]]:
    """The groups of `alternative_groups` without their keys; a group's number is its position."""
    return [members for _, members in alternative_groups(chunks)]


def slot_vocabulary(chunks: Sequence[Chunk], groups: Sequence[dict[str, set[str]]] | None = None) -> Slots:
    """Stemmed term -> the group of alternatives it names a member of (first group wins); `groups`,
    if given, are `alternatives(chunks)` already found."""
    slots: Slots = {}
    for number, members in enumerate(alternatives(chunks) if groups is None else groups):
        for terms in members.values():
            for term in terms:
                slots.setdefault(term, number)
    return slots
