"""The shape of answer a question asks for (one fact, a list, a procedure, a part of the document, a
table row, a comparison, yes or no), learned from the `shape` labels of the questions written over
the training corpora: a multinomial logistic model over the packaged embedder's vector of the
question as typed (`python -m evals.train_shapes` writes `shape_model.json`). It replaced the cue-word
lists ("list", "what are", "tell me about"…), which missed most ways of asking (the model card is
the training command's report, evals/reports/issue23/shapes.md)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

SHAPE_FILE = Path(__file__).with_name("shape_model.json")
# Shapes whose answer is several items: the whole list, or the steps in order.
SEVERAL = frozenset({"list", "procedure"})
# Shapes whose answer is one thing: never a whole part of the document.
ONE_THING = frozenset({"fact", "yesno", "table"})


@dataclass(frozen=True)
class ShapeModel:
    classes: tuple[str, ...]
    weights: np.ndarray  # one row a class, one column a dimension of the question's vector
    bias: np.ndarray

    @classmethod
    def load(cls, path: Path = SHAPE_FILE) -> ShapeModel | None:
        try:
            data = json.loads(path.read_text())
            return cls(tuple(data["classes"]), np.asarray(data["weights"]), np.asarray(data["bias"]))
        except (OSError, ValueError, KeyError):
            return None

    def save(self, path: Path = SHAPE_FILE) -> None:
        data = {
            "classes": list(self.classes),
            "weights": [[round(float(w), 5) for w in row] for row in self.weights],
            "bias": [round(float(b), 5) for b in self.bias],
        }
        path.write_text(json.dumps(data) + "\n")

    def probabilities(self, vector: Sequence[float]) -> dict[str, float]:
        logits = self.weights @ np.asarray(vector, dtype=np.float64) + self.bias
        exp = np.exp(logits - logits.max())
        return dict(zip(self.classes, (float(p) for p in exp / exp.sum()), strict=True))

    def shape_of(self, vector: Sequence[float]) -> str:
        probabilities = self.probabilities(vector)
        return max(probabilities, key=lambda shape: probabilities[shape])


@lru_cache(maxsize=1)
def shared_shape_model() -> ShapeModel | None:
    """One model a process; None when no weights ship (every question is then asked for one fact)."""
    return ShapeModel.load()
