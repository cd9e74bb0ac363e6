"""Query vocabulary: domain synonyms from a data file, and terms too common in the corpus to inform.

Words that nearly every chunk and question share ("AI engineer" in a guide about AI engineers)
carry no information but dominate a small embedder's similarity; they are found by document
frequency over the indexed chunks, not listed by hand.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from rag.reading.text import content_terms, raw_words, stem

SYNONYMS_FILE = Path(__file__).parent / "data" / "synonyms.txt"


@dataclass(frozen=True)
class SynonymGroup:
    phrases: tuple[tuple[str, ...], ...]  # each phrase as stemmed terms
    surface: tuple[str, ...] = ()  # each phrase as written; the first is the guide's own word
    # The terms phrases start with: a group no term of the query starts is skipped at once (it is
    # asked of every group for every word of a question, a few hundred thousand times a minute).
    firsts: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "firsts", frozenset(phrase[0] for phrase in self.phrases if phrase))

    def matched_in(self, terms: list[str]) -> tuple[str, ...] | None:
        if self.firsts.isdisjoint(terms):
            return None
        for phrase in self.phrases:
            n = len(phrase)
            if any(tuple(terms[i : i + n]) == phrase for i in range(len(terms) - n + 1)):
                return phrase
        return None


@lru_cache(maxsize=4)
def load_synonyms(path: Path = SYNONYMS_FILE) -> tuple[SynonymGroup, ...]:
    groups = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        written = [p.strip() for p in line.split(",") if content_terms(p)]
        if len(written) > 1:
            groups.append(SynonymGroup(tuple(tuple(content_terms(p)) for p in written), tuple(written)))
    return tuple(groups)


def expand_terms(terms: list[str], groups: tuple[SynonymGroup, ...]) -> list[str]:
    """Terms of the other phrases of every group the query touches (not already in the query)."""
    present = set(terms)
    extra: list[str] = []
    for group in groups:
        if group.matched_in(terms) is None:
            continue
        for phrase in group.phrases:
            extra.extend(t for t in phrase if t not in present and t not in extra)
    return extra


def canonical_terms(terms: list[str], groups: tuple[SynonymGroup, ...]) -> list[str]:
    """The guide's own word (each group's first phrase) for every group the terms touch."""
    found: list[str] = []
    for group in groups:
        if group.matched_in(terms) is not None:
            found.extend(t for t in group.phrases[0] if t not in found)
    return found


def canonical_phrases(terms: list[str], groups: tuple[SynonymGroup, ...]) -> list[str]:
    """The guide's own wording (as written) for every group the terms touch through another word."""
    found: list[str] = []
    for group in groups:
        phrase = group.matched_in(terms)
        if phrase is not None and phrase != group.phrases[0] and group.surface:
            found.append(group.surface[0])
    return found


def in_guide_words(question: str, groups: tuple[SynonymGroup, ...]) -> str:
    """The question with each phrase of the domain vocabulary written the guide's way ("what do new
    grads make" -> "what do entry level make"): a small embedder does not know that the asker's
    word and the guide's mean the same, and BM25 gets both anyway (see `expand_terms`)."""
    terms = content_terms(question)
    words = question.split()
    for group in groups:
        phrase = group.matched_in(terms)
        if phrase is None or phrase == group.phrases[0] or not group.surface:
            continue
        rewritten: list[str] = []
        for word in words:
            stems = [stem(w) for w in raw_words(word)]
            if stems and all(s in phrase for s in stems):
                if not rewritten or rewritten[-1] != group.surface[0]:
                    rewritten.append(group.surface[0])
                continue
            rewritten.append(word)
        words = rewritten
    return " ".join(words)


def common_terms(texts: list[str], min_share: float = 0.3, min_docs: int = 20) -> frozenset[str]:
    """Stemmed terms in at least `min_share` of the texts (and in enough of them to be sure)."""
    df: Counter[str] = Counter()
    for text in texts:
        df.update(set(content_terms(text)))
    floor = max(min_docs, int(min_share * len(texts)))
    return frozenset(term for term, n in df.items() if n >= floor)


def strip_common_words(question: str, common: frozenset[str]) -> str:
    """The question without words whose stems are corpus-common; the question itself if nothing else is left."""
    kept = [w for w in raw_words(question) if stem(w) not in common]
    informative = [w for w in kept if content_terms(w)]
    return " ".join(kept) if informative else question


def weighted_terms(
    question: str, synonyms: tuple[SynonymGroup, ...], idf: dict[str, float], weight: float, unseen_weight: float
) -> dict[str, float]:
    """BM25 query terms and weights: the question's own, and the other phrases of every domain
    synonym group it touches — at reduced weight, or at full weight when the question's phrase
    never occurs in the guide ("seed-stage" for "startup"): then the synonyms are all there is."""
    terms = content_terms(question)
    weights: dict[str, float] = {}
    for term in terms:
        weights[term] = weights.get(term, 0.0) + 1.0
    for group in synonyms:
        phrase = group.matched_in(terms)
        if phrase is None:
            continue
        unseen = any(term not in idf for term in phrase)
        group_weight = unseen_weight if unseen else weight
        for term in expand_terms(list(phrase), (group,)):
            if term not in weights or weights[term] < group_weight:
                weights[term] = group_weight
    return weights
