"""The learned ranking function: its weights are the committed data, it ranks with every feature
column, and fitting recovers what separates relevant from irrelevant candidates."""

from __future__ import annotations

import json

import numpy as np

from evals.train_ranker import Group, fit, quality
from rag.ranking.features import FEATURES
from rag.ranking.model import WEIGHTS_FILE, LinearRanker
from rag.service import QAService


def test_the_committed_weights_are_for_the_features_and_say_how_they_were_made() -> None:
    data = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))
    assert tuple(data["features"]) == FEATURES
    assert data["command"] == "python -m evals.train_ranker"
    assert set(data["trained_on"]) == {"guide", "18f"}
    ranker = LinearRanker.load()
    assert ranker is not None and ranker.weights[FEATURES.index("cosine")] == 1.0


def test_weights_for_other_features_are_not_used(tmp_path) -> None:  # type: ignore[no-untyped-def]
    stale = tmp_path / "weights.json"
    stale.write_text(json.dumps({"features": ["cosine"], "weights": [1.0]}), encoding="utf-8")
    assert LinearRanker.load(stale) is None
    assert LinearRanker.load(tmp_path / "missing.json") is None


def test_the_service_ranks_with_the_learned_weights(service: QAService) -> None:
    retriever = service.index().retriever
    assert retriever.ranker is not None
    question = "What should we pay a mid-level engineer?"
    dense, lexical = retriever.dense.ranking(question, 30), retriever.bm25_ranking(question, 30)
    indices, rows = retriever.candidate_rows(question, dense, lexical)
    assert rows.shape == (len(indices), len(FEATURES)) and np.isfinite(rows).all()
    ranked = service.retrieve(question, 3)
    assert ranked[0].chunk.text.startswith("Mid-Level (3-5 years): $130,000")


def test_fitting_finds_the_column_that_separates_relevant_from_irrelevant() -> None:
    rng = np.random.default_rng(0)
    groups = []
    for q in range(60):
        rows = rng.normal(size=(20, len(FEATURES)))
        relevant = np.zeros(20, dtype=bool)
        relevant[q % 20] = True
        rows[:, FEATURES.index("text_overlap")] += 3.0 * relevant  # the signal that tells most
        rows[:, FEATURES.index("cosine")] += 1.0 * relevant  # scores are in its units: it must count
        groups.append(Group("synthetic", str(q), rows, relevant))
    weights = fit(groups)
    assert np.argmax(np.abs(weights)) == FEATURES.index("text_overlap") and weights[FEATURES.index("cosine")] == 1.0
    assert quality(groups, lambda g: g.rows @ weights)["hit@1"] > 0.9
