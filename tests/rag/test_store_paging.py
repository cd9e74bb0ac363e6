"""Reading every chunk of an index version, page by page: a collection larger than Chroma's SQLite
variable limit (32,766) loads, and page boundaries lose or repeat nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.index import store as store_module
from rag.index.store import ChunkStore, connect, where
from rag.models import Chunk
from tests.conftest import make_settings


def stored_and_read(tmp_path: Path, count: int) -> tuple[dict[str, Chunk], dict[str, Chunk]]:
    settings = make_settings(tmp_path)
    chunks = {
        f"chunk-{i:06d}": Chunk(
            f"chunk-{i:06d}", f"doc-{i % 7}.txt", ("Part", str(i % 3)), "paragraph", f"text {i}", i, i + 1
        )
        for i in range(count)
    }
    store = ChunkStore(connect(settings), where(settings))
    collection = store.new_collection()
    # Two-dimensional vectors: what is read back here is the metadata, not the embeddings.
    store.write(collection, list(chunks.values()), {cid: [1.0, float(i)] for i, cid in enumerate(chunks)})
    return chunks, store.stored_chunks(collection)


@pytest.mark.parametrize("count", [0, 1, 6, 7, 8, 21, 30])
def test_pages_lose_and_repeat_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    monkeypatch.setattr(store_module, "READ_PAGE", 7)
    written, read = stored_and_read(tmp_path, count)
    assert read == written


@pytest.mark.slow
def test_a_collection_beyond_the_sqlite_variable_limit_loads(tmp_path: Path) -> None:
    written, read = stored_and_read(tmp_path, 33_000)
    assert len(read) == 33_000 and read == written
