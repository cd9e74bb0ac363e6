"""The shared state (conversations, query log, feedback, Slack event record) in PostgreSQL, for workers
on several machines; chosen when `RAG_STATE_DSN` is set. Same behaviour as the SQLite store, method
for method: `tests/rag/test_state_backends.py` runs one set of tests against both. It implements the
contract of `state_contract.py` and never imports the SQLite store's module (which imports this one).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from rag.errors import ConfigurationError
from rag.operations.state_contract import SharedState, Turn

SCHEMA = """
CREATE TABLE IF NOT EXISTS turns (
    conversation_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    question TEXT NOT NULL,
    resolved TEXT NOT NULL,
    answer TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (conversation_id, position)
);
CREATE INDEX IF NOT EXISTS turns_created ON turns (created);
CREATE TABLE IF NOT EXISTS queries (
    query_id TEXT PRIMARY KEY,
    created DOUBLE PRECISION NOT NULL,
    question TEXT NOT NULL,
    resolved TEXT NOT NULL,
    answer TEXT NOT NULL,
    answerable INTEGER NOT NULL,
    answerer TEXT NOT NULL,
    latency_ms DOUBLE PRECISION NOT NULL,
    conversation_id TEXT,
    channel TEXT NOT NULL,
    retrieved TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS queries_created ON queries (created);
CREATE TABLE IF NOT EXISTS feedback (
    id BIGSERIAL PRIMARY KEY,
    query_id TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment TEXT,
    source TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL
);
-- One vote per voter per answer (see rag/operations/state.py); the column is added to a store made before it.
ALTER TABLE feedback ADD COLUMN IF NOT EXISTS voter TEXT;
CREATE UNIQUE INDEX IF NOT EXISTS feedback_voter ON feedback (query_id, voter);
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY,
    created DOUBLE PRECISION NOT NULL
);
"""
# Serialises what must not interleave across processes: creating the schema, numbering a conversation's turns.
SCHEMA_LOCK = 7_310_001


def redact(dsn: str) -> str:
    """The DSN without its password, for error messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "the configured RAG_STATE_DSN"
    return " ".join(f"{key}={value}" for key, value in info.items() if key != "password")


class PostgresStateStore(SharedState):
    """The shared state over PostgreSQL: one connection per thread, autocommit outside `_write`."""

    def __init__(
        self,
        dsn: str,
        max_turns: int = 20,
        conversation_ttl_seconds: float = 24 * 3600,
        max_conversations: int = 10_000,
        max_logged_queries: int = 200_000,
    ) -> None:
        super().__init__(max_turns, conversation_ttl_seconds, max_conversations, max_logged_queries)
        self.dsn = dsn
        self._local = threading.local()
        with self._write() as db:
            db.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            db.execute(SCHEMA)

    def _db(self) -> psycopg.Connection[Any]:
        db: psycopg.Connection[Any] | None = getattr(self._local, "db", None)
        if db is None or db.closed or db.broken:
            try:
                db = psycopg.connect(self.dsn, autocommit=True, connect_timeout=10)
            except psycopg.Error as exc:
                reason = " ".join(str(exc).split())  # psycopg's messages run over several lines
                raise ConfigurationError(
                    f"cannot connect to the state database ({redact(self.dsn)}): {reason}"
                ) from exc
            self._local.db = db
        return db

    @contextmanager
    def _write(self) -> Iterator[psycopg.Connection[Any]]:
        db = self._db()
        with db.transaction():
            yield db

    # -- conversations -------------------------------------------------------------------------
    def turns(self, conversation_id: str) -> list[Turn]:
        cutoff = time.time() - self.conversation_ttl
        rows = (
            self._db()
            .execute(
                "SELECT question, resolved, answer FROM turns"
                " WHERE conversation_id = %s AND created >= %s ORDER BY position",
                (conversation_id, cutoff),
            )
            .fetchall()
        )
        return [Turn(*row) for row in rows]

    def latest_conversation(self, prefix: str, within_seconds: float) -> str | None:
        now = time.time()
        cutoff = max(now - within_seconds, now - self.conversation_ttl)
        row = (
            self._db()
            .execute(
                "SELECT conversation_id FROM turns WHERE created >= %s AND left(conversation_id, %s) = %s"
                " ORDER BY created DESC LIMIT 1",
                (cutoff, len(prefix), prefix),
            )
            .fetchone()
        )
        return str(row[0]) if row else None

    def add_turn(self, conversation_id: str, question: str, resolved: str, answer: str) -> None:
        now = time.time()
        with self._write() as db:
            db.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (SCHEMA_LOCK, conversation_id))
            row = db.execute(
                "SELECT MAX(position) FROM turns WHERE conversation_id = %s", (conversation_id,)
            ).fetchone()
            position = ((row[0] if row else None) or 0) + 1
            db.execute(
                "INSERT INTO turns VALUES (%s, %s, %s, %s, %s, %s)",
                (conversation_id, position, question, resolved, answer, now),
            )
            db.execute(
                "DELETE FROM turns WHERE conversation_id = %s AND position <= %s",
                (conversation_id, position - self.max_turns),
            )
            db.execute("DELETE FROM turns WHERE created < %s", (now - self.conversation_ttl,))
            db.execute(
                """DELETE FROM turns WHERE conversation_id IN (
                       SELECT conversation_id FROM turns GROUP BY conversation_id
                       ORDER BY MAX(created) DESC OFFSET %s)""",
                (self.max_conversations,),
            )

    # -- query log and feedback ----------------------------------------------------------------
    def log_query(self, record: dict[str, Any]) -> None:
        values = (
            record["query_id"],
            record.get("created", time.time()),
            record["question"],
            record.get("resolved", record["question"]),
            record["answer"],
            int(bool(record["answerable"])),
            record.get("answerer", "extractive"),
            float(record.get("latency_ms", 0.0)),
            record.get("conversation_id"),
            record.get("channel", "http"),
            json.dumps(record.get("retrieved", [])),
        )
        with self._write() as db:
            db.execute(
                """INSERT INTO queries VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                   ON CONFLICT (query_id) DO UPDATE SET created = EXCLUDED.created, question = EXCLUDED.question,
                   resolved = EXCLUDED.resolved, answer = EXCLUDED.answer, answerable = EXCLUDED.answerable,
                   answerer = EXCLUDED.answerer, latency_ms = EXCLUDED.latency_ms,
                   conversation_id = EXCLUDED.conversation_id, channel = EXCLUDED.channel,
                   retrieved = EXCLUDED.retrieved""",
                values,
            )
            db.execute(
                "DELETE FROM queries WHERE query_id IN (SELECT query_id FROM queries ORDER BY created DESC OFFSET %s)",
                (self.max_logged_queries,),
            )

    def query_exists(self, query_id: str) -> bool:
        return self._db().execute("SELECT 1 FROM queries WHERE query_id = %s", (query_id,)).fetchone() is not None

    def record_feedback(
        self, query_id: str, rating: str, comment: str | None, source: str, voter: str | None = None
    ) -> None:
        with self._write() as db:
            db.execute(
                """INSERT INTO feedback (query_id, rating, comment, source, created, voter)
                   VALUES (%s, %s, %s, %s, %s, %s)
                   ON CONFLICT (query_id, voter) DO UPDATE SET rating = EXCLUDED.rating,
                   comment = EXCLUDED.comment, source = EXCLUDED.source, created = EXCLUDED.created""",
                (query_id, rating, comment, source, time.time(), voter),
            )

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Read-only access for reports; `?` placeholders, as for SQLite, so one query serves both stores."""
        return [tuple(row) for row in self._db().execute(sql.replace("?", "%s"), params).fetchall()]  # type: ignore[arg-type]

    # -- Slack event de-duplication ------------------------------------------------------------
    def claim_event(self, event_id: str, keep_seconds: float = 24 * 3600) -> bool:
        now = time.time()
        with self._write() as db:
            db.execute("DELETE FROM events WHERE created < %s", (now - keep_seconds,))
            cursor = db.execute("INSERT INTO events VALUES (%s, %s) ON CONFLICT DO NOTHING", (event_id, now))
            return cursor.rowcount == 1
