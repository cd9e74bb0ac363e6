"""The training questions written over the training corpora pass their validator, and hold the mix
the learned parts need: thousands of questions, a quarter near misses, a third typed as people type."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.corpora import TRAINING, TRAINING_DATA, TRAINING_FILES, VALIDATION_CORPUS
from evals.validate_training import check, training_root

pytestmark = pytest.mark.skipif(not training_root().is_dir(), reason="the training corpora are not beside the project")


@pytest.mark.parametrize(("corpus", "file"), [(c, f) for c, files in TRAINING_FILES.items() for f in files])
def test_each_file_passes_the_validator(corpus: str, file: str) -> None:
    problems, counts = check(TRAINING_DATA / file, corpus)
    assert not problems, problems[:5]
    assert counts["questions"] >= 300


def test_the_mix_of_the_whole_set() -> None:
    rows = [json.loads(line) for f in TRAINING_DATA.glob("*.jsonl") for line in f.read_text().splitlines() if line]
    assert len(rows) >= 4000
    assert sum(not r["answerable"] for r in rows) / len(rows) >= 0.25
    assert sum(r["style"] == "messy" for r in rows) / len(rows) >= 0.30
    assert {r["shape"] for r in rows} >= {"fact", "list", "section", "procedure", "comparison", "yesno", "table"}


def test_the_validation_corpus_is_never_trained_on() -> None:
    assert VALIDATION_CORPUS not in TRAINING
    assert all(VALIDATION_CORPUS not in str(d) for sets in TRAINING.values() for d, _ in sets)


def test_a_bad_line_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    page = next((training_root() / "clef-handbook" / "pages").iterdir()).name
    bad.write_text(
        json.dumps(
            {
                "id": "x1",
                "question": "q?",
                "evidence": ["words nowhere in the page"],
                "facts": ["nowhere"],
                "answerable": True,
                "shape": "fact",
                "category": "lookup",
                "style": "clean",
                "page": page,
            }
        )
        + "\n"
        + json.dumps(
            {
                "id": "x1",
                "question": "q?",
                "answerable": False,
                "shape": "fact",
                "category": "lookup",
                "style": "clean",
                "page": page,
            }
        )
        + "\n",
        encoding="utf-8",
    )
    problems, _ = check(bad, "clef-handbook")
    assert any("not found verbatim" in p for p in problems)
    assert any("duplicate id" in p for p in problems)
    assert any("near-miss" in p for p in problems)
