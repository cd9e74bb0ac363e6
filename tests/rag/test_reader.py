"""The reader (rag/ranking/reader.py): its training command runs on a tiny slice and writes weights
that load and score pairs; the process loads one reader; RAG_READER=off serves without it."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.ranking.reader import READER_FILE, Reader, shared_reader
from rag.service import QAService
from rag.settings import Settings


@pytest.mark.slow
def test_the_training_command_runs_on_a_tiny_slice(tmp_path: Path) -> None:
    from evals import train_reader

    pairs = [
        (
            "What should we pay a mid-level engineer?",
            "Salary Information: Mid-Level (3-5 years): $130,000 - $180,000",
            1.0,
        ),
        ("What should we pay a mid-level engineer?", "Hiring Tips: Post on LinkedIn and GitHub", 0.0),
    ] * 8
    out = tmp_path / "reader.int8.pt"
    train_reader.train(pairs, 0.05, out)
    assert 0 < out.stat().st_size < 30_000_000  # int8 layers and head only: the embeddings are the packaged model's
    scores = Reader(out).scores("how many vacation days do we get?", ["Vacation: 20 days a year.", "Parking is free."])
    assert scores.shape == (2,)


@pytest.mark.skipif(not READER_FILE.is_file(), reason="no reader ships")
def test_one_reader_a_process(built_settings: Settings, embed_model) -> None:  # type: ignore[no-untyped-def]
    assert shared_reader() is shared_reader()
    on = QAService(built_settings, embed_model)
    assert on.index().retriever.reader is shared_reader()
    found = on.retrieve("What should we pay a mid-level engineer?", 5)
    assert any(r.reader is not None for r in found)


def test_rag_reader_off_serves_without_it(built_settings: Settings, embed_model) -> None:  # type: ignore[no-untyped-def]
    off = QAService(built_settings.model_copy(update={"reader": "off"}), embed_model)
    assert off.index().retriever.reader is None
    found = off.retrieve("What should we pay a mid-level engineer?", 5)
    assert found and all(r.reader is None for r in found)
