"""Okapi BM25 over the chunks, the lexical half of the search (rag/ranking/retrieval.py)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from rag.models import Chunk
from rag.reading.text import content_terms


def chunk_terms(chunk: Chunk) -> set[str]:
    """The words a chunk answers for: its headings, context and text."""
    return set(content_terms(" ".join((chunk.section_path, chunk.context, chunk.plain_text))))


@dataclass
class BM25Index:
    """Okapi BM25 with two fields (quoted text, heading context) and weighted query terms. Each term's
    posting list is a pair of arrays (chunks, saturated term frequency), so a query costs one vector
    operation per query term, not one Python step per posting: at 1,000 documents (180,000 chunks) a
    loop over postings took 83 ms a search, the arrays take 3 (evals/reports/bench/bm25.md)."""

    chunks: list[Chunk]
    section_weight: float = 0.5  # weight of heading/context words relative to the quoted text
    k1: float = 1.2
    b: float = 0.75
    postings: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    idf: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        tf_docs: list[dict[str, float]] = []
        heading_terms: dict[str, list[str]] = {}  # a heading path recurs in every chunk under it
        for chunk in self.chunks:
            tf: dict[str, float] = defaultdict(float)
            for term in content_terms(chunk.plain_text):  # link targets and markup are no words of it
                tf[term] += 1.0
            heading = " ".join([chunk.section_path, chunk.context])
            if heading not in heading_terms:
                heading_terms[heading] = content_terms(heading)
            for term in heading_terms[heading]:
                tf[term] += self.section_weight
            tf_docs.append(tf)
        lengths = [sum(tf.values()) for tf in tf_docs]
        average = sum(lengths) / max(len(lengths), 1) or 1.0
        df: Counter[str] = Counter()
        for tf in tf_docs:
            df.update(tf.keys())
        n = len(self.chunks)
        self.idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        postings: dict[str, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
        k1, b = self.k1, self.b
        for i, tf in enumerate(tf_docs):
            norm = k1 * (1 - b + b * lengths[i] / average)
            for term, freq in tf.items():
                docs, parts = postings[term]
                docs.append(i)
                parts.append(freq * (k1 + 1) / (freq + norm))
        self.postings = {
            term: (np.asarray(docs, dtype=np.int64), np.asarray(parts, dtype=np.float64))
            for term, (docs, parts) in postings.items()
        }

    def scores(self, weighted_terms: dict[str, float]) -> np.ndarray:
        """The score of every chunk (0 where no query term occurs)."""
        totals = np.zeros(len(self.chunks), dtype=np.float64)
        for term, weight in weighted_terms.items():
            posting = self.postings.get(term)
            if posting is not None:
                docs, parts = posting  # each chunk at most once per term, so `+=` on the index is exact
                totals[docs] += (weight * self.idf[term]) * parts
        return totals
