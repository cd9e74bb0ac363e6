"""Whether the documents answer a question: one calibrated decision on signals any corpus gives (how
similar the best passages are, how far the best leads, how much of the question they cover, words
and names the corpus never uses), in place of a threshold on one similarity and a rule per kind of
miss. A logistic model turns the signals into the probability that the question is answerable; its
weights and the threshold below which the answerer declines are data (rag/answering/abstention.json), fitted
on the tune splits of both corpora by `python -m evals.fit_abstention`."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SIGNALS: tuple[str, ...] = (
    "best_cosine",  # dense similarity of the best passage
    "best_score",  # the ranker's score of the best passage
    "margin",  # ... over the second best
    "coverage",  # share of the question's words (by idf) the best three passages and their headings hold
    "rare_uncovered",  # idf of the rarest question word the corpus has but the best three lack, over the corpus's highest
    "unseen_share",  # share of the question's words the corpus never uses (nor its domain vocabulary)
    "unseen_any",  # ... at least one
    "best_coverage",  # share of the question's words (by idf) the best passage and its headings hold
    "rarest_missing",  # the question's rarest word the corpus has is in none of the best three
    "unknown_name",  # the question names something (a capitalised name, a code) the corpus never mentions
    "promised_only",  # ... a topic the corpus only promises in a preview
    "unpaid_role",  # ... the pay of a role the corpus names but never pays
    "figure_missing",  # it asks for a figure and none of the best three holds one, in digits or in words
    "reader_best",  # the reader's highest logit over the best three (rag/ranking/reader.py; 0 without it)
)


@dataclass(frozen=True)
class AbstentionModel:
    weights: np.ndarray
    bias: float
    threshold: float

    def probability(self, signals: np.ndarray) -> float:
        """The probability that the question is answerable."""
        z = float(signals @ self.weights + self.bias)
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    @classmethod
    def load(cls, path: Path) -> AbstentionModel | None:
        """The fitted model, or None when the file holds none for these signals (an older file holds
        only a similarity threshold: then that threshold decides, as before)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        model = data.get("model") if isinstance(data, dict) else None
        if not isinstance(model, dict):
            return None
        names = tuple(model.get("signals", ()))
        if not names or not set(names) <= set(SIGNALS):
            return None
        # A signal added since the model was fitted (the reader's, before a reader ships) weighs nothing.
        try:
            weights = dict(zip(names, (float(w) for w in model["weights"]), strict=True))
            return cls(
                np.asarray([weights.get(n, 0.0) for n in SIGNALS]), float(model["bias"]), float(data["threshold"])
            )
        except (KeyError, TypeError, ValueError):
            return None  # a damaged file: the similarity threshold decides, as with none
