"""Questions with several parts ("Austin or Denver?", "startup versus enterprise", "mid-level pay,
and what red flags…") are split so each part is retrieved on its own and answered with both.

Parts are found two ways, both general: a question naming two alternatives of one kind (two rows
of one table, two sibling headings — the same groups follow-ups use) yields one part per
alternative; and a question of several clauses ("…, and what …", "…? Also, …") yields one part
per clause, with the alternatives named in the first clause carried into later ones ("at that level").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.models import Chunk
from rag.ranking.followup import alternatives
from rag.ranking.lexicon import SynonymGroup, canonical_terms
from rag.reading.text import raw_words, stem

CLAUSE_BREAK = re.compile(
    r"(?:\?\s+|[,;]\s*(?:and|also|plus|but)\s+(?=(?:what|how|which|who|where|when|why|is|are|do|does|should|can)\b))",
    re.IGNORECASE,
)
MIN_CLAUSE_WORDS = 3


COMPARISON_CUE = re.compile(r"\b(?:vs\.?|versus|or|and|compared?|comparison|between|differ\w*|each|both)\b", re.I)
WORD_SPAN = re.compile(r"[\w$'’]+(?:[-/][\w$'’]+)*")


@dataclass(frozen=True)
class Members:
    """Stemmed term -> the (group number, member label) pairs it names."""

    of: dict[str, frozenset[tuple[int, str]]]

    @classmethod
    def from_chunks(cls, chunks: Sequence[Chunk], groups: Sequence[dict[str, set[str]]] | None = None) -> Members:
        """From the chunks, or from their `alternatives` already found (`groups`)."""
        seen: dict[str, set[tuple[int, str]]] = {}
        for number, members in enumerate(alternatives(chunks) if groups is None else groups):
            for label, terms in members.items():
                for term in terms:
                    seen.setdefault(term, set()).add((number, label))
        return cls({term: frozenset(found) for term, found in seen.items()})

    def named(self, text: str, synonyms: tuple[SynonymGroup, ...]) -> list[tuple[int, str, tuple[int, int]]]:
        """(group, member, character span) for each word of `text` that names a member."""
        hits: list[tuple[int, str, tuple[int, int]]] = []
        for span, candidates in word_terms(text, synonyms):
            found = {pair for term in candidates for pair in self.of.get(term, ())}
            hits.extend((group, member, span) for group, member in found)
        return hits


def word_terms(text: str, synonyms: tuple[SynonymGroup, ...]) -> list[tuple[tuple[int, int], list[str]]]:
    """Each word of `text` (its character span) with the terms that may name an alternative: its own
    stems and the guide's word for any synonym group it belongs to ("juniors" -> "entry level")."""
    found = []
    for match in WORD_SPAN.finditer(text):
        terms = [stem(w) for w in raw_words(match.group(0))]
        found.append((match.span(), terms + canonical_terms(terms, synonyms)))
    return found


def split_clauses(question: str) -> list[str]:
    pieces = [p.strip(" ,;?") for p in CLAUSE_BREAK.split(question)]
    pieces = [p for p in pieces if len(p.split()) >= MIN_CLAUSE_WORDS]
    return pieces if len(pieces) > 1 else [question]


def split_alternatives(question: str, members: Members, synonyms: tuple[SynonymGroup, ...]) -> list[str]:
    """One part per alternative when the question compares two or more of one kind."""
    if not COMPARISON_CUE.search(question):
        return [question]
    by_group: dict[int, dict[str, set[tuple[int, int]]]] = {}
    for group, member, span in members.named(question, synonyms):
        by_group.setdefault(group, {}).setdefault(member, set()).add(span)
    # A group is contested when two of its members are named by different words.
    contested = []
    for group, named in by_group.items():
        spans = [frozenset(v) for v in named.values()]
        if len(named) < 2 or any(a & b for a in spans for b in spans if a is not b):
            continue
        # ... and a comparison cue stands between them ("Retail vs manufacturing", "Seattle ... or Denver").
        starts = sorted(min(span)[0] for span in spans)
        ends = sorted(max(span)[1] for span in spans)
        if any(ends[0] <= cue.start() < starts[-1] for cue in COMPARISON_CUE.finditer(question)):
            contested.append(group)
    if not contested:
        return [question]
    group = max(contested, key=lambda g: (len(by_group[g]), -g))
    named = by_group[group]
    parts = []
    for member, own in named.items():
        others = sorted({span for m, spans in named.items() if m != member for span in spans} - own)
        text = question
        for start, end in reversed(others):
            text = text[:start] + text[end:]
        parts.append(" ".join(text.split()))
    return parts


def split_parts(question: str, members: Members, synonyms: tuple[SynonymGroup, ...]) -> list[str]:
    """The parts of `question` to retrieve separately; `[question]` when it has one part."""
    alternatives_ = split_alternatives(question, members, synonyms)
    if len(alternatives_) > 1:
        return alternatives_
    clauses = split_clauses(question)
    if len(clauses) == 1:
        return clauses
    # Carry the alternatives named in the first clause into later clauses that name none of their kind.
    first_hits = members.named(clauses[0], synonyms)
    carried = []
    for clause in clauses[1:]:
        groups_named = {g for g, _, _ in members.named(clause, synonyms)}
        extra = dict.fromkeys(clauses[0][a:b] for g, _, (a, b) in first_hits if g not in groups_named)
        carried.append(f"{clause} {' '.join(extra)}".strip())
    return [clauses[0], *carried]
