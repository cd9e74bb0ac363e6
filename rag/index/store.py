"""The Chroma store: the embedded `PersistentClient` in the index folder, or a Chroma server when
`RAG_CHROMA_HOST` is set — one code path, a setting apart.

Chunks live in versioned collections (`chunks_<version>`). A small `rag_meta` collection names the
active one, so a rebuild is written aside and switched to in one write: readers never see a
half-built index, and a crash mid-build leaves the old version in service.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chromadb
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.config import Settings as ChromaSettings

from rag.errors import IndexDamaged, IndexMissing, IndexUnavailable
from rag.models import Chunk
from rag.settings import Settings

META_COLLECTION = "rag_meta"
POINTER_ID = "active"
CHUNK_PREFIX = "chunks_"
BATCH = 256
READ_PAGE = 5000
# The file an embedded Chroma store keeps in its folder; there is no index without it.
CHROMA_DATABASE = "chroma.sqlite3"
# SQLite's own words for a file that is damaged (SQLITE_CORRUPT) or not a database (SQLITE_NOTADB), as
# opposed to one that is merely unreachable for now (full disk, locked, no permission).
DAMAGED = re.compile(r"\(code: (?:11|26)\)|malformed|not a database", re.IGNORECASE)


def connect(settings: Settings) -> ClientAPI:
    """A Chroma client for the configured store; telemetry off, never Chroma's own embedder."""
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    try:
        if settings.chroma_host:
            return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
        settings.index_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.index_dir), settings=chroma_settings)
    except Exception as exc:  # chromadb raises bare ValueError/ConnectionError/sqlite errors here
        if settings.chroma_host:
            raise IndexUnavailable(f"cannot open the Chroma store ({where(settings)}): {exc}") from exc
        # Chroma caches a client per folder before opening it: forget the failed one, or every later call
        # would get it back (with a confusing error) even once the folder has been repaired.
        release_client(settings.index_dir)
        if DAMAGED.search(str(exc)):
            raise IndexDamaged(
                f"cannot open the Chroma store ({where(settings)}): {exc}; "
                "`rag ingest --rebuild` sets the damaged store aside and builds a new one"
            ) from exc
        raise IndexUnavailable(f"cannot open the Chroma store ({where(settings)}): {exc}") from exc


def require_built_index(settings: Settings) -> None:
    """Raise IndexMissing, creating nothing, when the embedded store has never been built: a command
    that only reads checks this before it loads a model or opens Chroma (which would create the folder
    and an empty database). A Chroma server is checked when the index is loaded."""
    if settings.chroma_host:
        return
    if not (settings.index_dir / CHROMA_DATABASE).is_file():
        raise IndexMissing(f"no index has been built in the {where(settings)}; run `rag ingest`")


def release_client(index_dir: Path) -> None:
    """Forget (and stop) this process's cached Chroma client for `index_dir`: the next `connect` opens
    whatever the folder holds then."""
    from chromadb.api.shared_system_client import SharedSystemClient

    system = SharedSystemClient._identifier_to_system.pop(str(index_dir), None)
    SharedSystemClient._identifier_to_refcount.pop(str(index_dir), None)
    if system is not None:
        with contextlib.suppress(Exception):  # a client that never opened may not stop cleanly
            system.stop()


def where(settings: Settings) -> str:
    if settings.chroma_host:
        return f"Chroma server {settings.chroma_host}:{settings.chroma_port}"
    return f"index folder {settings.index_dir}"


@dataclass(frozen=True)
class IndexVersion:
    collection: str
    previous: str | None
    created: float
    embed_model: str


def chunk_metadata(chunk: Chunk) -> dict[str, Any]:
    return {
        "source": chunk.source,
        "section": json.dumps(list(chunk.section)),
        "kind": chunk.kind,
        "start": chunk.start,
        "end": chunk.end,
        "context": chunk.context,
        "text": chunk.text,
        "unit": chunk.unit_start,
    }


def chunk_from_record(chunk_id: str, metadata: dict[str, Any]) -> Chunk:
    return Chunk(
        chunk_id=chunk_id,
        source=str(metadata["source"]),
        section=tuple(json.loads(str(metadata["section"]))),
        kind=metadata["kind"],
        text=str(metadata["text"]),
        start=int(metadata["start"]),
        end=int(metadata["end"]),
        context=str(metadata.get("context") or ""),
        # An index written before units were stored reads each chunk as its own unit.
        unit=-1 if int(metadata.get("unit", -1)) == int(metadata["start"]) else int(metadata.get("unit", -1)),
    )


class ChunkStore:
    """Versioned chunk collections and the pointer to the active one."""

    def __init__(self, client: ClientAPI, label: str = "") -> None:
        self.client = client
        self.label = label

    def _meta(self) -> Collection:
        return self.client.get_or_create_collection(META_COLLECTION, embedding_function=None)

    def active_version(self) -> IndexVersion | None:
        try:
            record = self._meta().get(ids=[POINTER_ID], include=["metadatas"])
        except Exception as exc:
            raise IndexUnavailable(f"cannot read the index ({self.label}): {exc}") from exc
        if not record["ids"] or not record["metadatas"]:
            return None
        meta = record["metadatas"][0]
        previous = meta.get("previous")
        return IndexVersion(
            collection=str(meta["collection"]),
            previous=str(previous) if previous else None,
            created=float(meta.get("created", 0.0)),  # type: ignore[arg-type]
            embed_model=str(meta.get("embed_model", "")),
        )

    def require_active(self) -> IndexVersion:
        version = self.active_version()
        if version is None:
            raise IndexMissing(f"no index has been built in the {self.label}; run `rag ingest`")
        return version

    def collection(self, name: str) -> Collection:
        try:
            return self.client.get_collection(name, embedding_function=None)
        except Exception as exc:
            raise IndexUnavailable(f"index collection {name} cannot be opened ({self.label}): {exc}") from exc

    def new_collection(self) -> Collection:
        name = f"{CHUNK_PREFIX}{time.strftime('%Y%m%dT%H%M%S')}_{uuid.uuid4().hex[:8]}"
        return self.client.create_collection(name, embedding_function=None, metadata={"hnsw:space": "cosine"})

    def stored_chunks(self, collection: Collection) -> dict[str, Chunk]:
        # Page by page: one `get` of a whole collection of more than 32,766 chunks fails in Chroma's SQLite
        # ("too many SQL variables"), which a corpus of about 200 guide-sized documents already reaches.
        found: dict[str, Chunk] = {}
        offset = 0
        while True:
            records = collection.get(include=["metadatas"], limit=READ_PAGE, offset=offset)
            metadatas = records["metadatas"] or []
            found.update((cid, chunk_from_record(cid, dict(meta))) for cid, meta in zip(records["ids"], metadatas))
            offset += len(records["ids"])
            if len(records["ids"]) < READ_PAGE:
                return found

    def embeddings_of(self, collection: Collection, ids: list[str]) -> dict[str, list[float]]:
        found: dict[str, list[float]] = {}
        for i in range(0, len(ids), BATCH):
            records = collection.get(ids=ids[i : i + BATCH], include=["embeddings"])
            embeddings = records["embeddings"]
            if embeddings is None:
                continue
            for cid, vector in zip(records["ids"], embeddings):
                found[cid] = [float(x) for x in vector]
        return found

    def write(self, collection: Collection, chunks: list[Chunk], embeddings: dict[str, list[float]]) -> None:
        for i in range(0, len(chunks), BATCH):
            batch = chunks[i : i + BATCH]
            collection.add(
                ids=[c.chunk_id for c in batch],
                embeddings=[embeddings[c.chunk_id] for c in batch],  # type: ignore[arg-type]
                documents=[c.index_text for c in batch],
                metadatas=[chunk_metadata(c) for c in batch],
            )

    def activate(self, collection: Collection, previous: str | None, embed_model: str) -> None:
        """Point readers at `collection` in a single write."""
        self._meta().upsert(
            ids=[POINTER_ID],
            embeddings=[[1.0]],  # type: ignore[arg-type]
            documents=["active index pointer"],
            metadatas=[
                {
                    "collection": collection.name,
                    "previous": previous or "",
                    "created": time.time(),
                    "embed_model": embed_model,
                }
            ],
        )

    def drop_stale(self, keep: set[str]) -> list[str]:
        """Delete chunk collections that are neither active nor the one before (readers may still be on it)."""
        dropped = []
        for name in self.collection_names():
            if name.startswith(CHUNK_PREFIX) and name not in keep:
                self.client.delete_collection(name)
                dropped.append(name)
        return dropped

    def collection_names(self) -> list[str]:
        listed = self.client.list_collections()
        return [c if isinstance(c, str) else c.name for c in listed]
