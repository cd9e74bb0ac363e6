"""The learned ranking function: a weighted sum of the feature columns (rag/ranking/features.py).
Weights are data (weights.json beside this file), written by `python -m evals.train_ranker` from the
tune splits of both corpora; the command and its cross-validated numbers are recorded with them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.ranking.features import FEATURES

WEIGHTS_FILE = Path(__file__).with_name("weights.json")
# The fusion the project shipped before weights were learned: cosine + 0.25 x BM25 over the best.
PLAIN_FUSION = np.asarray([{"cosine": 1.0, "bm25": 0.25}.get(name, 0.0) for name in FEATURES])


@dataclass(frozen=True)
class LinearRanker:
    """Scores are in units of dense cosine (its weight is scaled to 1), so the answerer's ratios
    between a passage's score and the best one's keep the meaning they had with the fused score."""

    weights: np.ndarray
    names: tuple[str, ...] = FEATURES

    def score(self, rows: np.ndarray) -> np.ndarray:
        return rows @ self.weights

    def without(self, name: str) -> LinearRanker:
        weights = self.weights.copy()
        weights[self.names.index(name)] = 0.0
        return LinearRanker(weights, self.names)

    @classmethod
    def load(cls, path: Path = WEIGHTS_FILE) -> LinearRanker | None:
        """The committed weights, or None when there are none or they are for other features."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        names = tuple(data.get("features", ()))
        if names != FEATURES:
            return None
        return cls(np.asarray(data["weights"], dtype=float), names)
