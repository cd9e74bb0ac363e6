"""The same place under another alternative: a follow-up that swaps one alternative for another
("and for juniors?" after the red flags of seniors, "And in Seattle?" after Austin) asks for what
the earlier turn found, under the new alternative. When the earlier turn's best chunk sits under a
member of a group of alternatives (a sibling heading, a row of a table), the chunk in the same
place under the new member answers the follow-up: the row of the new label in the same table, or
under the sibling heading the chunk of the same sub-heading, kind and label ("Red Flags:").

The same holds for any question that names one alternative: when the best chunk for "red flags for
a mid-level engineer" is the seniors' "Red Flags:", the mid-level's is the answer.

Similarity alone misses it: "red flags … entry level" is closer, for a small embedder, to a general
list of red flags than to the entry level's, whose words are about fine-tuning and LLM APIs.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

from rag.models import Chunk
from rag.ranking.followup import GroupKey, alternative_groups, row_label
from rag.ranking.lexicon import SynonymGroup
from rag.ranking.parts import word_terms

# "Red Flags: …", "AI-Fluency Expectation: …": a short label before a colon names the chunk's role.
LABEL = re.compile(r"^\s*([A-Za-z][\w&/' -]{0,40}?):\s")


def role_label(chunk: Chunk) -> str | None:
    found = LABEL.match(chunk.text)
    return found.group(1).casefold() if found and len(found.group(1).split()) <= 4 else None


class Counterparts:
    """Finds the chunk that stands where an earlier one stood, under another alternative."""

    def __init__(
        self,
        chunks: Sequence[Chunk],
        synonyms: tuple[SynonymGroup, ...],
        groups: Sequence[tuple[GroupKey, dict[str, set[str]]]] | None = None,
    ) -> None:
        """`groups`, if given, are `alternative_groups(chunks)` already found."""
        found = alternative_groups(chunks) if groups is None else groups
        self.keys: list[GroupKey] = [key for key, _ in found]
        self.number_of = {key: number for number, key in enumerate(self.keys)}
        # Per group, term -> the members it names: a question is matched only against the groups the
        # chunk at hand stands in, not against every group of a large index.
        self.names: list[dict[str, set[str]]] = []
        for _, members_of_group in found:
            names: dict[str, set[str]] = defaultdict(set)
            for label, terms in members_of_group.items():
                for term in terms:
                    names[term].add(label)
            self.names.append(dict(names))
        self.synonyms = synonyms
        # Looked up by place, so a follow-up costs no scan of a large index.
        self.at: dict[tuple[str, tuple[str, ...], str], list[Chunk]] = defaultdict(list)
        for chunk in chunks:
            self.at[(chunk.source, chunk.section, chunk.kind)].append(chunk)

    def groups_of(self, chunk: Chunk) -> dict[int, str]:
        """Every group `chunk` stands in, with the member it stands under."""
        held: dict[int, str] = {}
        for depth in range(1, len(chunk.section)):
            number = self.number_of.get(("heading", chunk.source, *chunk.section[:depth]))
            if number is not None:
                held[number] = chunk.section[depth]
        if chunk.kind == "table_row":
            number = self.number_of.get(("table", chunk.source, chunk.section_path, chunk.context))
            if number is not None:
                held[number] = row_label(chunk)
        return held

    def table(self, row: Chunk) -> tuple[int | None, list[Chunk]]:
        """The group of the table `row` stands in (None when its rows are not alternatives) and the
        table's rows."""
        rows = [c for c in self.at.get((row.source, row.section, "table_row"), []) if c.context == row.context]
        return self.number_of.get(("table", row.source, row.section_path, row.context)), rows

    def place(self, chunk: Chunk, group: int) -> str | None:
        """The member of `group` that `chunk` sits under, if any."""
        key = self.keys[group]
        if key[0] == "table":
            same_table = chunk.kind == "table_row" and (chunk.source, chunk.section_path, chunk.context) == key[1:]
            return row_label(chunk) if same_table else None
        parents = key[2:]
        if chunk.source == key[1] and chunk.section[: len(parents)] == parents and len(chunk.section) > len(parents):
            return chunk.section[len(parents)]
        return None

    def terms(self, text: str) -> list[list[str]]:
        """The terms of each word of `text` that may name an alternative."""
        return [candidates for _, candidates in word_terms(text, self.synonyms)]

    def named_in(self, terms: list[list[str]], group: int) -> set[str]:
        """The members of `group` that words with these `terms` name."""
        return {member for candidates in terms for term in candidates for member in self.names[group].get(term, ())}

    def find(self, earlier: Chunk, text: str) -> Chunk | None:
        """The counterpart of `earlier` under the alternative `text` (a follow-up, or a question whose
        best chunk is `earlier`) names instead: when exactly one group has one member named that is not
        the one `earlier` stands under, and one chunk stands in the same place under it."""
        held = self.groups_of(earlier)
        if not held:
            return None
        terms = self.terms(text)
        named = {group: self.named_in(terms, group) for group in held}
        # A group counts when the text names one member of it, and not the one `earlier` stands under.
        swaps = [
            (group, next(iter(members)))
            for group, members in named.items()
            if len(members) == 1 and held[group] not in members
        ]
        if len(swaps) != 1:
            return None
        group, member = swaps[0]
        key = self.keys[group]
        if key[0] == "table":
            rows = [c for c in self.table(earlier)[1] if self.place(c, group) == member]
            return rows[0] if len(rows) == 1 else None
        return self._same_place(earlier, len(key) - 2, member)

    def _same_place(self, earlier: Chunk, depth: int, member: str) -> Chunk | None:
        path = (*earlier.section[:depth], member, *earlier.section[depth + 1 :])
        candidates = self.at.get((earlier.source, path, earlier.kind), [])
        label = role_label(earlier)
        if label is not None:
            labelled = [c for c in candidates if role_label(c) == label]
            return labelled[0] if len(labelled) == 1 else None
        if len(candidates) == 1:
            return candidates[0]
        # Unlabelled units (bullets of a list, pieces of a paragraph) match by position only when both
        # places hold the same number of them.
        own = self.at.get((earlier.source, earlier.section, earlier.kind), [])
        if len(own) == len(candidates) and earlier in own:
            return candidates[own.index(earlier)]
        return None
