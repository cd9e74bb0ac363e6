"""`/readyz` is cheap enough to be called every few seconds and still true: it does not embed a question on
each call (the whole search runs once per index version), yet it turns false as soon as the index cannot
be read."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events.embedding import EmbeddingStartEvent

from api.app import create_app
from rag.index.store import ChunkStore, connect, where
from rag.service import QAService
from rag.settings import Settings
from tests.conftest import make_settings


class EmbeddingCounter(BaseEventHandler):
    """Counts the questions llama-index embeddings are asked to embed (its own instrumentation events)."""

    count: int = 0
    lock: Any = None

    @classmethod
    def class_name(cls) -> str:
        return "EmbeddingCounter"

    def handle(self, event: Any, **kwargs: Any) -> None:
        if isinstance(event, EmbeddingStartEvent):
            with self.lock:
                self.count += 1


@pytest.fixture()
def embeddings() -> Iterator[EmbeddingCounter]:
    counter = EmbeddingCounter(lock=threading.Lock())
    dispatcher = get_dispatcher()
    dispatcher.add_event_handler(counter)
    try:
        yield counter
    finally:
        dispatcher.event_handlers.remove(counter)


@pytest.fixture()
def own_index(tmp_path: Path, built_settings: Settings) -> Settings:
    """A copy of the session's index, to damage."""
    shutil.copytree(built_settings.index_dir, tmp_path / "index", ignore=shutil.ignore_patterns(".ingest.lock"))
    return make_settings(tmp_path)


def test_readiness_probes_do_not_embed_a_question_each(client: TestClient, embeddings: EmbeddingCounter) -> None:
    assert client.get("/readyz").status_code == 200  # at most one search, for this index version
    before = embeddings.count
    for _ in range(10):
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["ready"] is True
    assert embeddings.count == before
    # The counter does see embeddings: a question is embedded.
    assert client.post("/v1/query", json={"question": "What do AI engineers earn in Seattle?"}).status_code == 200
    assert embeddings.count > before


def test_readiness_turns_false_once_the_index_cannot_be_read(own_index: Settings, embed_model: BaseEmbedding) -> None:
    with TestClient(create_app(own_index, QAService(own_index, embed_model=embed_model))) as client:
        assert client.get("/readyz").status_code == 200
        store = ChunkStore(connect(own_index), where(own_index))
        active = store.require_active()
        store.client.delete_collection(active.collection)
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["ready"] is False
        assert ready.json()["reason"]
