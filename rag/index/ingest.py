"""Build or refresh the index from the corpus: only new text is embedded, and the result is
written to a fresh collection that becomes active in one step."""

from __future__ import annotations

import fcntl
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.errors import CorpusError, IndexDamaged, IndexUnavailable, RagError
from rag.index.embedding import model_identity
from rag.index.ingest_lease import server_ingest_lease
from rag.index.store import ChunkStore, IndexVersion, connect, release_client, where
from rag.models import Chunk
from rag.reading.chunking import chunk_documents
from rag.reading.documents import load_documents
from rag.settings import Settings

log = logging.getLogger(__name__)

LOCK_FILE = ".ingest.lock"


@dataclass(frozen=True)
class IngestReport:
    added: int
    updated: int
    removed: int
    unchanged: int
    embedded: int
    collection: str
    switched: bool

    def summary(self) -> str:
        return (
            f"{self.added} added, {self.updated} updated, {self.removed} removed, "
            f"{self.unchanged} unchanged ({self.embedded} embedded; index {self.collection})"
        )


@contextmanager
def ingest_lock(settings: Settings) -> Iterator[None]:
    """One ingest at a time per index folder; a second one refuses at once instead of interleaving."""
    if settings.chroma_host:
        # No file reaches the other machines: the lease lives in the server itself.
        with server_ingest_lease(connect(settings), where(settings)):
            yield
        return
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    path = Path(settings.index_dir) / LOCK_FILE
    with path.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RagError(f"another `rag ingest` is running on {settings.index_dir}; try again when it ends") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def open_for_ingest(settings: Settings, rebuild: bool) -> tuple[ChunkStore, IndexVersion | None, dict[str, Chunk]]:
    """The store, its active version and the chunks stored there (none for a rebuild). A rebuild of an
    index folder whose files are damaged sets them aside and starts an empty store; a store that is only
    unreachable (full disk, locked, server down) is never set aside."""
    try:
        store = ChunkStore(connect(settings), where(settings))
    except IndexDamaged:
        if not rebuild:
            raise
        aside = set_aside_damaged_store(settings.index_dir)
        log.warning("the index files are damaged; they were moved to %s and a new index is built", aside)
        return ChunkStore(connect(settings), where(settings)), None, {}
    try:
        active = store.active_version()
        stored = store.stored_chunks(store.collection(active.collection)) if active and not rebuild else {}
    except RagError:
        if not rebuild:
            raise
        active, stored = None, {}  # a rebuild needs nothing from the old version
    return store, active, stored


def set_aside_damaged_store(index_dir: Path) -> Path:
    """Move the store's files into `damaged-<time>/` inside the index folder (kept for inspection, never
    deleted); the lock file and the README stay where they are."""
    release_client(index_dir)
    target = index_dir / f"damaged-{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 1_000_000:06d}"
    target.mkdir()
    for entry in index_dir.iterdir():
        if entry == target or entry.name == LOCK_FILE or entry.name.startswith(("README", "damaged-")):
            continue
        entry.rename(target / entry.name)
    return target


def same_placement(a: Chunk, b: Chunk) -> bool:
    return (a.start, a.end, a.section, a.kind, a.text, a.context, a.unit_start) == (
        b.start,
        b.end,
        b.section,
        b.kind,
        b.text,
        b.context,
        b.unit_start,
    )


EmbedModelSource = BaseEmbedding | Callable[[], BaseEmbedding]


def embedder_name(embed_model: EmbedModelSource, settings: Settings) -> str:
    """The name of the model that embeds (or, for a factory not yet called, will embed) this index."""
    if isinstance(embed_model, BaseEmbedding):
        return str(getattr(embed_model, "model_name", "") or "unnamed embedder")
    return model_identity(settings.embed_model)


def ingest(
    settings: Settings,
    embed_model: EmbedModelSource,
    corpus_dir: Path | None = None,
    rebuild: bool = False,
    show_progress: bool = False,
    on_stage: Callable[[str], None] | None = None,
) -> IngestReport:
    """Bring the index in line with the corpus. Unchanged chunks keep their stored embeddings.
    `embed_model` may be a factory: it is then called only when something needs embedding, so an
    unchanged corpus costs no model start-up."""
    corpus = corpus_dir or settings.corpus_dir
    documents = load_documents(corpus)
    chunks = chunk_documents(documents)
    if not chunks:
        raise CorpusError(f"nothing to index in {corpus}: no readable .txt, .md or .html file with text")
    stage = on_stage or (lambda _: None)
    with ingest_lock(settings):
        store, active, stored = open_for_ingest(settings, rebuild)
        wanted = {c.chunk_id: c for c in chunks}
        added = [c for cid, c in wanted.items() if cid not in stored]
        kept = [c for cid, c in wanted.items() if cid in stored]
        updated = [c for c in kept if not same_placement(c, stored[c.chunk_id])]
        removed = [cid for cid in stored if cid not in wanted]
        unchanged = len(kept) - len(updated)
        identity = embedder_name(embed_model, settings)
        # Vectors of another embedder (an index built before the fine-tuned one shipped) are not kept.
        other_model = bool(active and active.embed_model and active.embed_model != identity)
        if active and not rebuild and not other_model and not added and not updated and not removed:
            return IngestReport(0, 0, 0, unchanged, 0, active.collection, switched=False)

        try:
            stage("embedding")
            embeddings = (
                store.embeddings_of(store.collection(active.collection), [c.chunk_id for c in kept])
                if kept and active and not other_model
                else {}
            )
            to_embed = [c for c in wanted.values() if c.chunk_id not in embeddings]
            vectors: list[list[float]] = []
            if to_embed:
                if not isinstance(embed_model, BaseEmbedding) and callable(embed_model):
                    embed_model = embed_model()
                vectors = embed_model.get_text_embedding_batch(
                    [c.index_text for c in to_embed], show_progress=show_progress
                )
            embeddings.update({c.chunk_id: v for c, v in zip(to_embed, vectors)})
            collection = store.new_collection()
            stage("writing")  # announced once the new collection exists, so a kill here leaves one behind
            store.write(collection, list(wanted.values()), embeddings)
            stage("switching")
            store.activate(collection, active.collection if active else None, identity)
            store.drop_stale({collection.name, active.collection} if active else {collection.name})
        except RagError:
            raise
        except Exception as exc:
            raise IndexUnavailable(f"ingest failed writing to the {where(settings)}: {exc}") from exc
        log.info("index switched to %s", collection.name)
        return IngestReport(
            len(added), len(updated), len(removed), unchanged, len(to_embed), collection.name, switched=True
        )
