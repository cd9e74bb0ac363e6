"""Ingest is idempotent and incremental, and a rebuild switches only when complete."""

from __future__ import annotations

from pathlib import Path

from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.index.ingest import ingest
from rag.index.store import ChunkStore, connect, where
from tests.conftest import make_settings


class CountingEmbedder:
    """The real model, counting what it is asked to embed."""

    def __init__(self, model: BaseEmbedding) -> None:
        self.model = model
        self.texts: list[str] = []
        self.model_name = "counting"

    def get_text_embedding_batch(self, texts: list[str], show_progress: bool = False) -> list[list[float]]:
        self.texts.extend(texts)
        return self.model.get_text_embedding_batch(texts)


def stored_ids(settings) -> set[str]:  # type: ignore[no-untyped-def]
    store = ChunkStore(connect(settings), where(settings))
    version = store.require_active()
    return set(store.stored_chunks(store.collection(version.collection)))


def test_second_ingest_embeds_nothing_and_changes_nothing(
    tmp_path: Path, corpus_copy: Path, embed_model: BaseEmbedding
) -> None:
    settings = make_settings(tmp_path, corpus=corpus_copy)
    counter = CountingEmbedder(embed_model)
    first = ingest(settings, counter)  # type: ignore[arg-type]
    assert first.added == len(counter.texts) > 100 and first.switched
    ids = stored_ids(settings)

    counter.texts.clear()
    second = ingest(settings, counter)  # type: ignore[arg-type]
    assert (second.added, second.updated, second.removed, second.embedded) == (0, 0, 0, 0)
    assert second.unchanged == first.added and not second.switched
    assert counter.texts == []
    assert stored_ids(settings) == ids


def test_edited_file_replaces_only_its_changed_chunks(
    tmp_path: Path, corpus_copy: Path, embed_model: BaseEmbedding
) -> None:
    settings = make_settings(tmp_path, corpus=corpus_copy)
    counter = CountingEmbedder(embed_model)
    ingest(settings, counter)  # type: ignore[arg-type]
    before = stored_ids(settings)

    guide = corpus_copy / "ai-engineer-job-description-2026.txt"
    text = guide.read_text(encoding="utf-8")
    edited = text.replace("Seattle $160,000 - $220,000", "Seattle $170,000 - $230,000").replace(
        "  • Kaggle: Identify top performers in machine learning competitions\n", ""
    )
    guide.write_text(edited, encoding="utf-8")
    counter.texts.clear()
    report = ingest(settings, counter)  # type: ignore[arg-type]

    assert (report.added, report.removed) == (1, 2)
    assert report.embedded == 1 and "Seattle $170,000 - $230,000" in counter.texts[0]
    # Text after the edits moved, so those chunks keep their ids and embeddings but get new offsets.
    assert report.updated > 0
    after = stored_ids(settings)
    assert len(after) == len(before) - 1
    assert len(before - after) == 2 and len(after - before) == 1


def test_rebuild_reembeds_into_a_new_version(tmp_path: Path, embed_model: BaseEmbedding) -> None:
    settings = make_settings(tmp_path)
    first = ingest(settings, embed_model)
    rebuilt = ingest(settings, embed_model, rebuild=True)
    assert rebuilt.switched and rebuilt.collection != first.collection
    assert rebuilt.embedded == first.added
    store = ChunkStore(connect(settings), where(settings))
    assert store.require_active().collection == rebuilt.collection
