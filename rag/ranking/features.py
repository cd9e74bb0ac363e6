"""What a candidate passage has going for it as the answer to a question, as numbers. These are the
signals the hand-set ranking rules used to act on one by one (a preview stepped down by 0.7, a
summary by 0.9, list items put in reading order, a counterpart pinned first); here each is one
column, and the learned weights (rag/ranking/model.py) decide what each is worth.

The columns are those that paid on both corpora: each was left out in turn, the model refitted and
cross-validated on the tune sets of the guide and of the 18F handbook, and it stayed only when
leaving it out cost mean reciprocal rank on either (evals/reports/ranking/features.md). Gone that
way: the dense rank, the question's overlap with the heading path, the Q&A kind, the summary's
step in proportion to similarity, standing under the alternative the question names, and the place
of an item in its list."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.models import Chunk
from rag.reading.text import content_terms

PERCENTAGE = re.compile(r"\d\s*%|\bpercent", re.IGNORECASE)

FEATURES: tuple[str, ...] = (
    "cosine",  # dense similarity of question and passage (with its headings)
    "heading_cosine",  # dense similarity of question and the passage's heading path alone
    "bm25",  # BM25 of text and headings, over the best candidate's
    "bm25_rank",  # 1 / (1 + its place in the BM25 ranking); 0 when not in it
    "pair_overlap",  # share of the question's adjacent word pairs the passage (and headings) holds
    "text_overlap",  # share of the question's words (by idf) the passage's own text holds
    "dense_only",  # BM25 did not find it
    "lexical_only",  # the dense search did not find it
    "bullet",
    "table_row",
    "preview",  # stands in a section about the document itself (rag/ranking/preview.py)
    "summary",  # stands in a summary of the subject ("Key Highlights")
    "preview_cosine",  # the preview's step down in proportion to its similarity
    "figure_asked_held",  # the question asks for a figure and the passage holds one of that kind
    "figure_asked_missing",  # ... and the passage holds none (a percentage asked: none of those)
    "other_place",  # stands under another alternative of a kind the question names ("mid-level" asked, under Senior)
    "log_words",
    "log_list_size",  # how many items its list holds (1 for a lone passage)
)


@dataclass(frozen=True)
class Candidate:
    index: int  # place in the retriever's chunk list
    cosine: float | None  # None: the dense search did not return it
    bm25: float | None  # None: BM25 did not return it
    bm25_rank: int | None = None


def adjacent_pairs(terms: Sequence[str]) -> set[tuple[str, str]]:
    return set(itertools.pairwise(terms))


def idf_weighted_share(question: Sequence[str], held: set[str], idf: dict[str, float]) -> float:
    total = sum(idf.get(t, 0.0) for t in question)
    return sum(idf.get(t, 0.0) for t in question if t in held) / total if total else 0.0


@dataclass
class PassageFacts:
    """What the feature columns need of each chunk, computed once per index."""

    text_terms: list[set[str]]
    pairs: list[set[tuple[str, str]]]
    log_words: np.ndarray
    has_figure: np.ndarray
    has_percentage: np.ndarray
    list_size: np.ndarray

    @classmethod
    def of(cls, chunks: Sequence[Chunk], list_of) -> PassageFacts:  # type: ignore[no-untyped-def]
        sizes = np.ones(len(chunks))
        for i, c in enumerate(chunks):
            if c.kind == "bullet":
                sizes[i] = len(list_of(c))
        return cls(
            text_terms=[set(content_terms(c.plain_text)) for c in chunks],
            pairs=[adjacent_pairs(content_terms(" ".join((c.section_path, c.context, c.plain_text)))) for c in chunks],
            log_words=np.asarray([math.log1p(len(c.plain_text.split())) for c in chunks]),
            has_figure=np.asarray([any(ch.isdigit() for ch in c.plain_text) for c in chunks], dtype=float),
            has_percentage=np.asarray([bool(PERCENTAGE.search(c.plain_text)) for c in chunks], dtype=float),
            list_size=sizes,
        )


def feature_matrix(
    question_terms: Sequence[str],
    candidates: Sequence[Candidate],
    chunks: Sequence[Chunk],
    facts: PassageFacts,
    idf: dict[str, float],
    *,
    previews: frozenset[int],
    summaries: frozenset[int],
    asks_figure: bool,
    heading_cosine: np.ndarray,
    asks_percentage: bool = False,
    other_place: Sequence[bool] = (),
) -> np.ndarray:
    """One row per candidate, one column per name in FEATURES."""
    floor = min((c.cosine for c in candidates if c.cosine is not None), default=0.0)
    best_bm25 = max((c.bm25 or 0.0 for c in candidates), default=0.0) or 1.0
    question_pairs = adjacent_pairs(question_terms)
    rows = np.zeros((len(candidates), len(FEATURES)))
    for r, cand in enumerate(candidates):
        i = cand.index
        chunk = chunks[i]
        cosine = floor if cand.cosine is None else cand.cosine
        held = facts.has_percentage[i] if asks_percentage else facts.has_figure[i]
        rows[r] = (
            cosine,
            heading_cosine[r],
            (cand.bm25 or 0.0) / best_bm25,
            0.0 if cand.bm25_rank is None else 1.0 / (1.0 + cand.bm25_rank),
            len(question_pairs & facts.pairs[i]) / len(question_pairs) if question_pairs else 0.0,
            idf_weighted_share(question_terms, facts.text_terms[i], idf),
            cand.bm25 is None,
            cand.cosine is None,
            chunk.kind == "bullet",
            chunk.kind == "table_row",
            i in previews,
            i in summaries,
            cosine * (i in previews),
            asks_figure and held,
            asks_figure and not held,
            other_place[r] if other_place else False,
            facts.log_words[i],
            math.log(facts.list_size[i]),
        )
    return rows
