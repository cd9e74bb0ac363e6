"""The shared state store, SQLite (default) and PostgreSQL (`RAG_STATE_DSN`), held to one contract;
and the app and `rag report` on PostgreSQL, with two app instances standing in for two workers."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from llama_index.core.base.embeddings.base import BaseEmbedding

from api.app import create_app
from rag.errors import ConfigurationError
from rag.operations.reporting import build_report
from rag.operations.state import StateStore, open_state_store, set_wal
from rag.operations.state_contract import SharedState
from rag.operations.state_postgres import PostgresStateStore
from rag.service import QAService
from rag.settings import Settings
from tests.chroma_server import free_port
from tests.conftest import make_settings
from tests.postgres_server import postgres_dsn  # noqa: F401 (a fixture)

MakeStore = Callable[..., SharedState]


@pytest.fixture()
def fresh_database(postgres_dsn: str) -> Iterator[str]:  # noqa: F811
    """A database of its own for one test, dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_dsn, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    yield postgres_dsn.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(postgres_dsn, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> MakeStore:
    """Opens stores over one shared state (call it again for a second 'worker'), with the limits given."""
    if request.param == "sqlite":
        path = tmp_path / "state.sqlite3"
        return lambda **limits: StateStore(path, **limits)
    dsn = request.getfixturevalue("fresh_database")
    return lambda **limits: PostgresStateStore(dsn, **limits)


def test_turns_come_back_in_order_and_only_the_last_ones(make_store: MakeStore) -> None:
    store = make_store(max_turns=2)
    for n in range(1, 4):
        store.add_turn("c1", f"question {n}", f"resolved {n}", f"answer {n}")
    store.add_turn("c2", "other", "other", "other")
    assert [(t.question, t.resolved, t.answer) for t in store.turns("c1")] == [
        ("question 2", "resolved 2", "answer 2"),
        ("question 3", "resolved 3", "answer 3"),
    ]
    assert store.turns("unknown") == []


def test_old_and_excess_conversations_are_forgotten(make_store: MakeStore) -> None:
    expired = make_store(conversation_ttl_seconds=0.0)
    expired.add_turn("gone", "q", "q", "a")
    assert expired.turns("gone") == []
    store = make_store(max_conversations=2)
    for conversation in ("first", "second", "third"):
        store.add_turn(conversation, "q", "q", "a")
    assert store.turns("first") == []
    assert len(store.turns("second")) == len(store.turns("third")) == 1


def test_the_latest_conversation_under_a_prefix_within_a_window(make_store: MakeStore) -> None:
    store = make_store()
    store.add_turn("slack:D1:100.1", "q", "q", "a")
    store.add_turn("slack:D2:100.2", "q", "q", "a")
    store.add_turn("slack:D1:100.3", "q", "q", "a")
    store.add_turn("slack:D10:100.4", "q", "q", "a")  # another DM whose id merely starts the same
    assert store.latest_conversation("slack:D1:", 600) == "slack:D1:100.3"
    assert store.latest_conversation("slack:D2:", 600) == "slack:D2:100.2"
    assert store.latest_conversation("slack:D3:", 600) is None
    assert store.latest_conversation("slack:D1:", 0) is None  # nothing that recent
    assert make_store(conversation_ttl_seconds=0.0).latest_conversation("slack:D1:", 600) is None  # expired


def test_query_log_feedback_and_retention(make_store: MakeStore) -> None:
    store = make_store(max_logged_queries=3)
    record = {"query_id": "q0", "question": "Q?", "answer": "A", "answerable": True, "retrieved": [["c", 0.5, 0.7]]}
    store.log_query(record)
    store.log_query({**record, "answer": "A, again"})  # the same id is replaced, not duplicated
    assert store.rows("SELECT answer, answerable FROM queries WHERE query_id = ?", ("q0",)) == [("A, again", 1)]
    assert store.query_exists("q0") and not store.query_exists("nope")
    store.record_feedback("q0", "down", "wrong figure", "http")
    assert store.rows("SELECT query_id, rating, comment, source FROM feedback") == [
        ("q0", "down", "wrong figure", "http")
    ]
    # Retention keeps the newest entries: q0 (now) and the two latest of four older ones.
    for n in range(1, 5):
        store.log_query({**record, "query_id": f"q{n}", "created": 1000.0 + n})
    assert sorted(row[0] for row in store.rows("SELECT query_id FROM queries")) == ["q0", "q3", "q4"]


def test_one_vote_per_voter_per_answer_the_latest_wins(make_store: MakeStore) -> None:
    store = make_store()
    for query_id in ("q1", "q2"):
        store.log_query({"query_id": query_id, "question": "Q?", "answer": "A", "answerable": True})
    store.record_feedback("q1", "up", None, "slack", voter="slack:U1")
    make_store().record_feedback("q1", "down", "changed my mind", "slack", voter="slack:U1")  # another worker
    store.record_feedback("q1", "up", None, "slack", voter="slack:U2")
    store.record_feedback("q2", "up", None, "slack", voter="slack:U1")
    store.record_feedback("q1", "down", None, "http")  # no voter: each is a vote of its own
    store.record_feedback("q1", "down", None, "http")
    votes = store.rows("SELECT query_id, rating, COALESCE(comment, ''), COALESCE(voter, '') FROM feedback")
    assert sorted(votes) == [
        ("q1", "down", "", ""),
        ("q1", "down", "", ""),
        ("q1", "down", "changed my mind", "slack:U1"),
        ("q1", "up", "", "slack:U2"),
        ("q2", "up", "", "slack:U1"),
    ]


def test_a_store_made_before_voters_gains_the_column_and_keeps_its_votes(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, query_id TEXT NOT NULL,"
            " rating TEXT NOT NULL, comment TEXT, source TEXT NOT NULL, created REAL NOT NULL)"
        )
        old.execute("INSERT INTO feedback (query_id, rating, source, created) VALUES ('q1', 'up', 'http', 1.0)")
    old.close()
    store = StateStore(path)
    store.record_feedback("q1", "down", None, "slack", voter="slack:U1")
    store.record_feedback("q1", "up", None, "slack", voter="slack:U1")
    assert store.rows("SELECT rating, voter FROM feedback ORDER BY id") == [("up", None), ("up", "slack:U1")]


def test_an_event_is_claimed_once_by_many_workers_at_once(make_store: MakeStore) -> None:
    workers = [make_store() for _ in range(6)]
    start = threading.Barrier(len(workers))
    claimed: list[bool] = []

    def claim(store: SharedState) -> None:
        start.wait()
        claimed.append(store.claim_event("Ev123"))

    threads = [threading.Thread(target=claim, args=(store,)) for store in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(claimed) == [False] * 5 + [True]
    assert workers[0].claim_event("Ev124") is True


def test_turns_added_at_once_by_many_workers_all_land(make_store: MakeStore) -> None:
    workers = [make_store(max_turns=100) for _ in range(4)]
    start = threading.Barrier(len(workers))
    errors: list[Exception] = []

    def add(store: SharedState, worker: int) -> None:
        start.wait()
        try:
            for n in range(5):
                store.add_turn("busy", f"w{worker} q{n}", "r", "a")
        except Exception as exc:  # a collision on the turn number would surface here
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(store, i)) for i, store in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len({t.question for t in workers[0].turns("busy")}) == 20


@pytest.mark.integration
def test_the_app_keeps_its_state_in_postgres_when_a_dsn_is_set(
    fresh_database: str, tmp_path: Path, built_settings: Settings, embed_model: BaseEmbedding
) -> None:
    settings = make_settings(tmp_path, RAG_INDEX_DIR=built_settings.index_dir, RAG_STATE_DSN=fresh_database)
    worker_a = create_app(settings, QAService(settings, embed_model=embed_model))
    worker_b = create_app(settings, QAService(settings, embed_model=embed_model))
    with TestClient(worker_a) as a, TestClient(worker_b) as b:
        first = a.post(
            "/v1/query", json={"question": "What is the salary range for a senior AI engineer?", "conversation_id": "c"}
        )
        follow = b.post("/v1/query", json={"question": "And for a junior one?", "conversation_id": "c"})
        alone = b.post("/v1/query", json={"question": "And for a junior one?"})
        assert first.status_code == follow.status_code == alone.status_code == 200
        # Worker B saw worker A's turn: the follow-up was read in context, unlike the same words alone.
        assert follow.json()["answer"] != alone.json()["answer"]
        assert isinstance(a.app.state.store, PostgresStateStore)  # type: ignore[attr-defined]
        a.app.state.store.record_feedback(follow.json()["query_id"], "down", None, "http")  # type: ignore[attr-defined]
    assert not settings.state_path.exists()  # nothing went to SQLite
    report = build_report(open_state_store(settings), days=1)
    assert report["volume"]["queries"] == 3 and report["volume"]["conversations"] == 1
    assert report["feedback"]["down"] == 1


def test_an_unreachable_database_is_a_configuration_error_without_the_password(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, RAG_STATE_DSN=f"postgresql://rag:s3cret@127.0.0.1:{free_port()}/rag")
    with pytest.raises(ConfigurationError) as failure:
        open_state_store(settings)
    assert "cannot connect to the state database" in str(failure.value)
    assert "\n" not in str(failure.value)  # the CLI prints it as its one-line error
    assert "s3cret" not in str(failure.value)
    assert "s3cret" not in repr(settings)


def test_wal_is_switched_on_while_another_process_holds_the_lock(tmp_path: Path) -> None:
    """Two workers starting at once: SQLite refuses the switch to WAL at once while the other holds
    the lock; the switch is retried instead of failing the worker's start-up."""
    path = tmp_path / "state.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    threading.Timer(0.3, lambda: holder.execute("COMMIT")).start()
    starting = sqlite3.connect(path, timeout=0, isolation_level=None)
    set_wal(starting)
    assert starting.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
