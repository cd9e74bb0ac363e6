"""The golden set is well formed: every evidence string occurs verbatim in the corpus."""

from __future__ import annotations

from collections import Counter

from evals.dataset import DEFAULT_DATASET, load_dataset
from tests.conftest import GUIDE


def test_every_evidence_string_occurs_verbatim_in_the_corpus() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    items = load_dataset(DEFAULT_DATASET)
    missing = [(item.id, e) for item in items for e in item.evidence if e not in text]
    assert not missing


def test_golden_set_has_the_promised_shape() -> None:
    items = load_dataset(DEFAULT_DATASET)
    assert len(items) >= 80
    assert sum(not i.answerable for i in items) >= 15
    assert sum(i.evidence_mode == "all" for i in items) >= 5
    assert Counter(i.split for i in items).keys() >= {"tune", "heldout"}
    assert sum(bool(i.follows) for i in items) >= 4
