"""BM25 over posting arrays scores exactly as the textbook formula does, term by term."""

from __future__ import annotations

import math

import pytest

from rag.models import Chunk
from rag.ranking.bm25 import BM25Index
from rag.ranking.retrieval import RetrievalConfig
from rag.reading.text import content_terms

TEXTS = [
    ("Pay", "Seattle salary range is high"),
    ("Pay", "Austin salary range is moderate"),
    ("Skills", "Python and PyTorch skills"),
    ("Skills", "Salary is not a skill"),
    ("Flags", "No production experience at all"),
]


def chunks() -> list[Chunk]:
    return [
        Chunk(f"c{i}", "a.md" if i < 3 else "b.md", (section,), "bullet", text, i * 100, i * 100 + len(text))
        for i, (section, text) in enumerate(TEXTS)
    ]


def reference(chunk_list: list[Chunk], config: RetrievalConfig, weighted: dict[str, float]) -> list[float]:
    """Okapi BM25 written out directly: per chunk, per query term, with the heading field weighted."""
    tfs = []
    for c in chunk_list:
        tf: dict[str, float] = {}
        for t in content_terms(c.text):
            tf[t] = tf.get(t, 0.0) + 1.0
        for t in content_terms(c.section_path):
            tf[t] = tf.get(t, 0.0) + config.section_weight
        tfs.append(tf)
    n = len(tfs)
    average = sum(sum(tf.values()) for tf in tfs) / n
    scores = []
    for tf in tfs:
        length = sum(tf.values())
        total = 0.0
        for term, weight in weighted.items():
            df = sum(term in other for other in tfs)
            if term not in tf:
                continue
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            f = tf[term]
            total += weight * idf * f * (config.k1 + 1) / (f + config.k1 * (1 - config.b + config.b * length / average))
        scores.append(total)
    return scores


@pytest.mark.parametrize("weighted", [{"salari": 1.0}, {"salari": 1.0, "seattl": 0.4}, {"pay": 1.0, "skill": 2.0}, {}])
def test_scores_match_the_formula(weighted: dict[str, float]) -> None:
    config = RetrievalConfig()
    index = BM25Index(chunks(), config.section_weight, config.k1, config.b)
    assert index.scores(weighted).tolist() == pytest.approx(reference(chunks(), config, weighted))


def test_a_term_no_chunk_holds_scores_nothing() -> None:
    index = BM25Index(chunks())
    assert index.scores({"kubernet": 1.0}).tolist() == [0.0] * len(TEXTS)
