"""State shared by every worker process: conversations, the query log, feedback and the record of
Slack events already answered. SQLite in WAL mode, so several processes on one machine see one store.
`open_state_store` picks it or the PostgreSQL store; what both promise is in `state_contract.py`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rag.operations.state_contract import SharedState, Turn
from rag.settings import Settings

SCHEMA = """
CREATE TABLE IF NOT EXISTS turns (
    conversation_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    question TEXT NOT NULL,
    resolved TEXT NOT NULL,
    answer TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (conversation_id, position)
);
CREATE INDEX IF NOT EXISTS turns_created ON turns (created);
CREATE TABLE IF NOT EXISTS queries (
    query_id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    question TEXT NOT NULL,
    resolved TEXT NOT NULL,
    answer TEXT NOT NULL,
    answerable INTEGER NOT NULL,
    answerer TEXT NOT NULL,
    latency_ms REAL NOT NULL,
    conversation_id TEXT,
    channel TEXT NOT NULL,
    retrieved TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS queries_created ON queries (created);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    query_id TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment TEXT,
    source TEXT NOT NULL,
    created REAL NOT NULL,
    voter TEXT
);
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY,
    created REAL NOT NULL
);
"""
# One vote per voter per answer (a later vote replaces the earlier one); votes without a voter (NULL, as
# from /v1/feedback) never collide. Created after FEEDBACK_VOTER has added the column to an older store.
FEEDBACK_VOTER_INDEX = "CREATE UNIQUE INDEX IF NOT EXISTS feedback_voter ON feedback (query_id, voter)"


def prune_interval(cap: int) -> int:
    """How many inserts apart a cap is enforced: at every insert for a small cap, about every 1% of it for
    a large one (at most 512), so a full log costs one scan per hundreds of inserts, not one per insert,
    and never holds more than 1% over its cap."""
    return max(1, min(512, cap // 100))


WAL_ATTEMPTS = 100  # x 0.1 s


def set_wal(db: sqlite3.Connection) -> None:
    """Switch to write-ahead logging. Switching takes an exclusive lock and SQLite may answer "database is
    locked" at once, without waiting, when another process (a second worker starting) holds it: retry."""
    for attempt in range(WAL_ATTEMPTS):
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == WAL_ATTEMPTS - 1:
                raise
            time.sleep(0.1)


class StateStore(SharedState):
    """A small SQLite store; every method is one short transaction, safe across threads and processes."""

    def __init__(
        self,
        path: Path,
        max_turns: int = 20,
        conversation_ttl_seconds: float = 24 * 3600,
        max_conversations: int = 10_000,
        max_logged_queries: int = 200_000,
    ) -> None:
        super().__init__(max_turns, conversation_ttl_seconds, max_conversations, max_logged_queries)
        self.path = path
        self._local = threading.local()
        path.parent.mkdir(parents=True, exist_ok=True)
        db = self._connection()
        db.executescript(SCHEMA)  # idempotent; executescript manages its own transaction
        with self._transaction() as db:
            # A store made before votes had voters: add the column (SQLite has no ADD COLUMN IF NOT EXISTS).
            if "voter" not in {row[1] for row in db.execute("PRAGMA table_info(feedback)")}:
                db.execute("ALTER TABLE feedback ADD COLUMN voter TEXT")
            db.execute(FEEDBACK_VOTER_INDEX)

    def _connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            set_wal(db)
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=30000")
            self._local.db = db
        return db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # -- conversations -------------------------------------------------------------------------
    def turns(self, conversation_id: str) -> list[Turn]:
        """The conversation's turns, oldest first; expired conversations are empty."""
        cutoff = time.time() - self.conversation_ttl
        rows = (
            self._connection()
            .execute(
                "SELECT question, resolved, answer FROM turns WHERE conversation_id = ? AND created >= ? ORDER BY position",
                (conversation_id, cutoff),
            )
            .fetchall()
        )
        return [Turn(*row) for row in rows]

    def latest_conversation(self, prefix: str, within_seconds: float) -> str | None:
        """The conversation, among those whose id starts with `prefix`, that had the latest turn, if that
        turn is at most `within_seconds` old (and the conversation not expired); else None."""
        now = time.time()
        cutoff = max(now - within_seconds, now - self.conversation_ttl)
        row = (
            self._connection()
            .execute(
                "SELECT conversation_id FROM turns WHERE created >= ? AND substr(conversation_id, 1, ?) = ?"
                " ORDER BY created DESC LIMIT 1",
                (cutoff, len(prefix), prefix),
            )
            .fetchone()
        )
        return row[0] if row else None

    def add_turn(self, conversation_id: str, question: str, resolved: str, answer: str) -> None:
        now = time.time()
        with self._transaction() as db:
            row = db.execute("SELECT MAX(position) FROM turns WHERE conversation_id = ?", (conversation_id,)).fetchone()
            position = (row[0] or 0) + 1
            inserted = db.execute(
                "INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?)",
                (conversation_id, position, question, resolved, answer, now),
            )
            # Bounded memory: the last `max_turns` turns of a conversation, conversations within the TTL,
            # and no more than `max_conversations` of them (the least recently used go first).
            db.execute(
                "DELETE FROM turns WHERE conversation_id = ? AND position <= ?",
                (conversation_id, position - self.max_turns),
            )
            db.execute("DELETE FROM turns WHERE created < ?", (now - self.conversation_ttl,))
            if (inserted.lastrowid or 0) % prune_interval(self.max_conversations) == 0:
                db.execute(
                    """DELETE FROM turns WHERE conversation_id IN (
                           SELECT conversation_id FROM turns GROUP BY conversation_id
                           ORDER BY MAX(created) DESC LIMIT -1 OFFSET ?)""",
                    (self.max_conversations,),
                )

    # -- query log and feedback ----------------------------------------------------------------
    def log_query(self, record: dict[str, Any]) -> None:
        with self._transaction() as db:
            inserted = db.execute(
                "INSERT OR REPLACE INTO queries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
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
                ),
            )
            # Retention: the log keeps the newest `max_logged_queries` entries.
            if (inserted.lastrowid or 0) % prune_interval(self.max_logged_queries) == 0:
                db.execute(
                    "DELETE FROM queries WHERE query_id IN (SELECT query_id FROM queries ORDER BY created DESC LIMIT -1 OFFSET ?)",
                    (self.max_logged_queries,),
                )

    def query_exists(self, query_id: str) -> bool:
        row = self._connection().execute("SELECT 1 FROM queries WHERE query_id = ?", (query_id,)).fetchone()
        return row is not None

    def record_feedback(
        self, query_id: str, rating: str, comment: str | None, source: str, voter: str | None = None
    ) -> None:
        """Store a vote. A `voter` (e.g. `slack:U123`) has one vote per answer, the latest: voting again
        replaces it. Without one, every call is a vote of its own."""
        with self._transaction() as db:
            db.execute(
                """INSERT INTO feedback (query_id, rating, comment, source, created, voter) VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (query_id, voter) DO UPDATE SET rating = excluded.rating,
                   comment = excluded.comment, source = excluded.source, created = excluded.created""",
                (query_id, rating, comment, source, time.time(), voter),
            )

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Read-only access for reports."""
        return self._connection().execute(sql, params).fetchall()

    # -- Slack event de-duplication ------------------------------------------------------------
    def claim_event(self, event_id: str, keep_seconds: float = 24 * 3600) -> bool:
        """True exactly once per event id, across every process sharing this store."""
        now = time.time()
        with self._transaction() as db:
            db.execute("DELETE FROM events WHERE created < ?", (now - keep_seconds,))
            cursor = db.execute("INSERT OR IGNORE INTO events VALUES (?, ?)", (event_id, now))
            return cursor.rowcount == 1


def open_state_store(settings: Settings) -> SharedState:
    """The store every worker shares: PostgreSQL when `RAG_STATE_DSN` is set, else SQLite at `RAG_STATE_PATH`."""
    limits: dict[str, Any] = {
        "max_turns": settings.conversation_max_turns,
        "conversation_ttl_seconds": settings.conversation_ttl_seconds,
        "max_conversations": settings.max_conversations,
        "max_logged_queries": settings.query_log_max_entries,
    }
    if settings.state_dsn:
        # Imported here, and only in this direction (state_postgres knows nothing of this module): psycopg is
        # loaded only when it is used.
        from rag.operations.state_postgres import PostgresStateStore

        return PostgresStateStore(settings.state_dsn, **limits)
    return StateStore(settings.state_path, **limits)
