"""One `rag ingest` at a time against a Chroma server, where no file lock can reach the other machines.

Two ingests interleaving would each drop collections the other is still writing (`drop_stale` keeps
only its own new and previous versions), and readers could be switched to a deleted collection. So an
ingest holds a lease: a record in the `rag_meta` collection naming its owner and an expiry. Chroma has
no compare-and-set, so a claim is written, left to settle, and read back: of two ingests that claim at
the same moment, the server keeps one write and both read the same winner. The lease is renewed while
the ingest runs, so one that dies frees the store within `ttl` seconds.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection

from rag.errors import IndexUnavailable, RagError
from rag.index.store import META_COLLECTION

LEASE_ID = "ingest_lease"
TTL_SECONDS = 60.0
SETTLE_SECONDS = 1.0


class IngestRunning(RagError):
    code = "ingest_running"


@dataclass(frozen=True)
class Lease:
    owner: str
    expires: float
    started: float


def read_lease(meta: Collection) -> Lease | None:
    record = meta.get(ids=[LEASE_ID], include=["metadatas"])
    if not record["ids"] or not record["metadatas"]:
        return None
    data = record["metadatas"][0]
    return Lease(str(data["owner"]), float(data["expires"]), float(data.get("started", 0.0)))  # type: ignore[arg-type]


def write_lease(meta: Collection, lease: Lease) -> None:
    # The meta collection's vectors have one dimension (see `ChunkStore.activate`).
    meta.upsert(
        ids=[LEASE_ID],
        embeddings=[[1.0]],  # type: ignore[arg-type]
        documents=["ingest lease"],
        metadatas=[{"owner": lease.owner, "expires": lease.expires, "started": lease.started}],
    )


def refuse(label: str, lease: Lease) -> IngestRunning:
    started = time.strftime("%H:%M:%S", time.localtime(lease.started))
    return IngestRunning(
        f"another `rag ingest` ({lease.owner}, started {started}) is writing to the {label}; "
        f"try again when it ends (a claim not renewed lapses within {TTL_SECONDS:.0f} s)"
    )


@contextmanager
def server_ingest_lease(
    client: ClientAPI, label: str, ttl: float = TTL_SECONDS, settle: float = SETTLE_SECONDS
) -> Iterator[Lease]:
    """Hold the store's ingest lease for the enclosed block, or raise IngestRunning at once."""
    try:
        meta = client.get_or_create_collection(META_COLLECTION, embedding_function=None)
        held = read_lease(meta)
    except Exception as exc:
        raise IndexUnavailable(f"cannot reach the {label}: {exc}") from exc
    now = time.time()
    if held is not None and held.expires > now:
        raise refuse(label, held)
    mine = Lease(f"{socket.gethostname()} pid {os.getpid()} {uuid.uuid4().hex[:6]}", now + ttl, now)
    write_lease(meta, mine)
    time.sleep(settle)
    winner = read_lease(meta)
    if winner is None or winner.owner != mine.owner:
        raise refuse(label, winner or mine)

    done = threading.Event()

    def renew() -> None:
        while not done.wait(ttl / 3):
            try:
                current = read_lease(meta)
                if current is None or current.owner != mine.owner:
                    return  # taken over after a lapse; nothing of ours left to renew
                write_lease(meta, Lease(mine.owner, time.time() + ttl, mine.started))
            except Exception:  # the server is away for a moment: try again next round, the ingest decides
                continue

    renewer = threading.Thread(target=renew, name="ingest-lease", daemon=True)
    renewer.start()
    try:
        yield mine
    finally:
        done.set()
        renewer.join(timeout=5)
        try:
            current = read_lease(meta)
            if current is not None and current.owner == mine.owner:
                meta.delete(ids=[LEASE_ID])
        except Exception:
            pass  # unreachable now: the claim lapses on its own within `ttl`
