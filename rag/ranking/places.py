"""Where in the documents a question points: the headings it names, the part it asks about as a
whole, and the alternatives (a level, a city: sibling headings, rows of one table) it names by a
word few passages use. The answer's shape reads it (rag/answering/shapes.py `Asked`), and one ranking
feature (a passage under another alternative than the one named) comes from it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from rag.answering.asked_shape import ONE_THING
from rag.answering.shapes import Asked, Outline, is_plural
from rag.models import Chunk, RetrievedChunk
from rag.ranking.bm25 import BM25Index
from rag.ranking.counterpart import Counterparts
from rag.ranking.followup import GroupKey, row_label
from rag.ranking.lexicon import SynonymGroup
from rag.ranking.parts import Members
from rag.ranking.superlative import KIND_ASKED_FOR
from rag.reading.text import content_terms, raw_words

# A word that names a constraint of the question is used by at most this share of passages.
RARE_SHARE = 0.1

HeadingKey = tuple[str, tuple[str, ...]]  # a document and a heading path in it


class Places:
    """The documents' headings and groups of alternatives, indexed once per index version."""

    def __init__(
        self,
        chunks: Sequence[Chunk],
        bm25: BM25Index,
        outline: Outline,
        common: frozenset[str],
        synonyms: tuple[SynonymGroup, ...],
        groups: list[tuple[GroupKey, dict[str, set[str]]]],
        counterparts: Counterparts,
    ) -> None:
        self.chunks = chunks
        self.bm25 = bm25
        self.outline = outline
        self.common = common
        self.synonyms = synonyms
        self.groups = groups
        self.members = Members.from_chunks(chunks, [members for _, members in groups])
        self.counterparts = counterparts
        # Each heading path of each document, with the words of its own (last) heading and, for a
        # table's section, of the table's header; and the chunks under it (their places in `chunks`).
        self.heading_words: dict[HeadingKey, set[str]] = {}
        under: dict[HeadingKey, list[int]] = defaultdict(list)
        for i, c in enumerate(chunks):
            for depth in range(1, len(c.section) + 1):
                key = (c.source, c.section[:depth])
                words = self.heading_words.setdefault(key, set(content_terms(c.section[depth - 1])))
                if depth == len(c.section) and c.kind == "table_row" and c.context:
                    words.update(content_terms(c.context))
                under[key].append(i)
        self.under_heading = {key: np.asarray(places, dtype=np.int64) for key, places in under.items()}
        # Each word to the headings that hold it: a question is matched against those headings only.
        self.headings_with: dict[str, list[HeadingKey]] = defaultdict(list)
        for key, words in self.heading_words.items():
            for word in words:
                self.headings_with[word].append(key)

    def asked_of_structure(self, question: str, retrieved: Sequence[RetrievedChunk] = (), shape: str = "fact") -> Asked:
        """What `question` asks of the documents' structure (for the answer's shape): a part as a
        whole (when the shape asked for, `shape`, is a part), the part it names (unless it asks for one
        thing), and the lists whose headings it names, best named first."""
        rows = frozenset(
            member
            for group, member, _ in self.members.named(question, self.synonyms)
            if self.groups[group][0][0] == "table"
        )
        rare = frozenset(self.rare_terms(question))
        section = self.section_asked(question, retrieved) if shape == "section" else None
        part = self.part_named(question) if shape not in ONE_THING else None
        return Asked(self.outline, section, self.headings_named(question), rows, rare, shape, part)

    def rare_terms(self, question: str) -> set[str]:
        return {term for term in content_terms(question) if self.rare(term)}

    def headings_named(self, question: str) -> tuple[HeadingKey, ...]:
        """The headings `question` names plainly, most words shared first: by a word few passages use,
        together with a second word of the heading or the plural the question asks for ("culture-fit
        questions", "responsibilities"; not "the human's responsibility" in passing). A heading gives
        way to one below it named by a word of its own ("ML fundamentals interview questions": the
        fundamentals), not to one named by the same words ("interview questions": all of them)."""
        terms = set(content_terms(question)) - self.common
        plurals = {t for w in raw_words(question) if is_plural(w) for t in content_terms(w)}
        named = []
        candidates = dict.fromkeys(key for term in terms for key in self.headings_with.get(term, ()))
        for source, path in candidates:
            shared = terms & self.heading_words[(source, path)]
            if (len(shared) >= 2 or shared & plurals) and any(self.rare(t, (source, path)) for t in shared):
                named.append((shared, source, path))

        def below(inner: tuple[set[str], str, tuple[str, ...]], outer: tuple[set[str], str, tuple[str, ...]]) -> bool:
            """`inner` lies under `outer` and is named by a word of its own."""
            return (
                inner[1] == outer[1]
                and len(inner[2]) > len(outer[2])
                and inner[2][: len(outer[2])] == outer[2]
                and bool(inner[0] - outer[0])
            )

        specific = [(len(h[0]), h[1], h[2]) for h in named if not any(below(other, h) for other in named)]
        order = {key: i for i, key in enumerate(self.heading_words)}
        return tuple((source, path) for _, source, path in sorted(specific, key=lambda h: (-h[0], order[(h[1], h[2])])))

    def part_named(self, question: str) -> HeadingKey | None:
        """The part of a document standing under an alternative the question names (a level, through
        the domain's synonyms too): "a senior engineer" names the senior level's section."""
        for group, member, _ in sorted(self.named_rarely(question), key=lambda hit: hit[2]):
            key = self.groups[group][0]
            if key[0] == "heading":
                source, *path = key[1:]
                return str(source), (*(str(p) for p in path), member)
        return None

    def section_asked(self, question: str, retrieved: Sequence[RetrievedChunk] = ()) -> HeadingKey | None:
        """The part of a document a question asks about as a whole ("what does the guide say about a
        senior engineer?": the senior level's section): an alternative it names (a level, through the
        domain's synonyms too), else the heading that shares most of its rarer words. Read only for a
        question the shape classifier says asks about a part (`asked_of_structure`)."""
        named = self.part_named(question)
        if named is not None:
            return named
        # Else the heading sharing most of the question's words that are rare outside it, among those a passage found for
        # the question stands under (a heading no passage was found under is named in passing), the
        # one holding the best-ranked passage first.
        terms = set(content_terms(question)) - self.common
        ranks: dict[HeadingKey, int] = {}
        for rank, found in enumerate(retrieved):
            for depth in range(1, len(found.chunk.section) + 1):
                ranks.setdefault((found.chunk.source, found.chunk.section[:depth]), rank)
        candidates = [
            (sum(self.rare(t, key) for t in terms & self.heading_words[key]), -rank, key) for key, rank in ranks.items()
        ]
        shared, _, chosen = max(candidates, default=(0, 0, ("", ())))
        return chosen if shared else None

    def named_rarely(self, question: str) -> list[tuple[int, str, tuple[int, int]]]:
        """The alternatives `question` names in their own words, by a word few passages use:
        "Seattle", "mid-level", not "AI engineer" (every heading) or "hire" (a synonym of sourcing, in
        a hiring guide)."""
        found = []
        # "Which city pays least?": the word after which/what names the kind asked for, not a member
        # ("city" is no "New York City"); blanked in place, so spans still index `question`.
        kinds_blanked = KIND_ASKED_FOR.sub(lambda m: " " * len(m.group()), question)
        for group, member, (start, end) in self.members.named(kinds_blanked, self.synonyms):
            own = set(content_terms(question[start:end])) & self.member_terms((group, member))
            if any(self.rare(term) for term in own):
                found.append((group, member, (start, end)))
        return found

    def rare(self, term: str, heading: HeadingKey | None = None) -> bool:
        """Used by at most a tenth of the passages (their text or headings); with `heading`, of the
        passages outside it ("interview" is all over "Interview Questions" and rare elsewhere)."""
        posting = self.bm25.postings.get(term)
        if posting is None:
            return False
        users = len(posting[0])
        if heading is not None and heading in self.under_heading:
            users -= int(np.isin(posting[0], self.under_heading[heading], assume_unique=True).sum())
        return users <= RARE_SHARE * len(self.chunks)

    def answers_for(self, chunk: Chunk, key: tuple[int, str]) -> bool:
        """`chunk` is under the alternative `key` names (below its heading, or its table row), or
        names it in its own text ("Senior Level (5+ years): $160,000 …" in a list of pay by level)."""
        group, member = key
        if self.member_terms(key) & set(content_terms(chunk.plain_text)):
            return True
        kind, source, *where = self.groups[group][0]
        if chunk.source != source:
            return False
        if kind == "table":
            return chunk.kind == "table_row" and chunk.section_path == where[0] and row_label(chunk) == member
        return chunk.section[: len(where) + 1] == (*where, member)

    def member_terms(self, key: tuple[int, str]) -> set[str]:
        group, member = key
        return set(self.groups[group][1].get(member, ()))

    def under_another(self, chunk: Chunk, named: Sequence[tuple[int, str]]) -> bool:
        """Whether `chunk` stands under an alternative of a kind the question names, and answers for
        none it names ("mid-level" asked: the senior level's red flags)."""
        if any(self.answers_for(chunk, key) for key in named):
            return False
        held = self.counterparts.groups_of(chunk)
        return any(group in held for group, _ in named)

    def each_named_answered(self, question: str, ranking: list[RetrievedChunk]) -> tuple[list[RetrievedChunk], int]:
        """A question that names alternatives of several kinds ("a mid-level engineer in Seattle": a
        level and a city) each answered in a place of its own: the best passage of the ranking that
        answers for a named alternative the passages before it do not follow them, each a part of
        the answer. Nothing is searched again and nothing is combined that the ranking did not find."""
        named = self.named_rarely(question)
        if len({group for group, _, _ in named}) < 2 or not ranking:
            return ranking, 1
        keys = list(dict.fromkeys((group, member) for group, member, _ in named))
        leading = [ranking[0]]
        for key in keys:
            if any(self.answers_for(r.chunk, key) for r in leading):
                continue
            found = next((r for r in ranking if self.answers_for(r.chunk, key)), None)
            if found is not None and found not in leading:
                leading.append(found)
        rest = [r for r in ranking if r not in leading]
        return leading + rest, len(leading)
