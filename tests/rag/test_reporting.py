"""`rag report` and `rag feedback export` on a real query log, made by real questions through the app."""

from __future__ import annotations

import json
import sqlite3
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from llama_index.core.base.embeddings.base import BaseEmbedding

from api.app import create_app
from rag.cli import main
from rag.operations.reporting import DAY, build_report, dataset_id, feedback_dataset, format_report, load_log
from rag.operations.state import StateStore
from rag.service import QAService
from rag.settings import Settings
from tests.conftest import make_settings

COVERED = "What is the salary range for a senior AI engineer?"
COVERED_TOO = "Which programming languages should an AI engineer know?"
FRANCE = "What is the capital of France?"
BREAD = "How do I bake sourdough bread at home?"


@dataclass(frozen=True)
class Log:
    settings: Settings
    store: StateStore
    ids: dict[str, list[str]]  # question -> query ids, in the order asked
    now: float


@pytest.fixture()
def log(tmp_path: Path, built_settings: Settings, embed_model: BaseEmbedding) -> Iterator[Log]:
    """A fresh query log: eight questions asked through the API, feedback on two, half moved a week back."""
    settings = make_settings(tmp_path, RAG_INDEX_DIR=built_settings.index_dir)
    ids: dict[str, list[str]] = {}
    with TestClient(create_app(settings, QAService(settings, embed_model=embed_model))) as client:
        asked = [COVERED, COVERED, COVERED_TOO, FRANCE, "what is the capital of france", BREAD]
        for question in asked:
            body = client.post("/v1/query", json={"question": question}).json()
            ids.setdefault(question, []).append(body["query_id"])
        for question in (COVERED, "And for a junior one?"):
            body = client.post("/v1/query", json={"question": question, "conversation_id": "conv-1"}).json()
            ids.setdefault(question, []).append(body["query_id"])
        store: StateStore = client.app.state.store  # type: ignore[attr-defined]
        store.record_feedback(ids[COVERED][0], "up", None, "http")
        store.record_feedback(ids[COVERED_TOO][0], "down", "lists tools, not languages", "http")
    # The covered questions were asked a week earlier: two weeks of log, the second one matching worse.
    earlier = [ids[COVERED][0], ids[COVERED][1], ids[COVERED_TOO][0]]
    with sqlite3.connect(settings.state_path) as db:
        db.executemany("UPDATE queries SET created = created - ? WHERE query_id = ?", [(7 * DAY, q) for q in earlier])
    yield Log(settings, StateStore(settings.state_path), ids, time.time() + 1)


def test_report_counts_volume_abstentions_feedback_and_latency(log: Log) -> None:
    report = build_report(log.store, days=56, slowest=3, now=log.now)
    logged = load_log(log.store)
    assert report["volume"]["queries"] == 8
    assert report["volume"]["conversations"] == 1
    assert report["volume"]["by_channel"] == {"http": 8}
    # The France question (twice) and the bread question are not in the guide.
    assert report["abstained"] == 3
    assert report["abstention_rate"] == round(3 / 8, 4)
    assert report["feedback"] == {
        "up": 1,
        "down": 1,
        "rated_queries": 2,
        "down_rate": round(1 / 8, 4),
        "down_share_of_rated": 0.5,
    }
    slowest = report["slowest"]
    assert len(slowest) == 3
    assert [s["latency_ms"] for s in slowest] == sorted((s["latency_ms"] for s in slowest), reverse=True)
    assert slowest[0]["latency_ms"] == round(max(q.latency_ms for q in logged), 1)
    assert report["latency_ms"]["max"] == slowest[0]["latency_ms"] > 0


def test_report_lists_questions_to_review_once_each(log: Log) -> None:
    review = {item["question"]: item for item in build_report(log.store, days=56, now=log.now)["needs_review"]}
    france = next(item for question, item in review.items() if question.casefold().startswith("what is the capital"))
    assert france["reasons"] == ["abstained"] and france["times"] == 2
    assert review[BREAD]["reasons"] == ["abstained"]
    assert review[COVERED_TOO]["reasons"] == ["thumbs_down"]
    assert review[COVERED_TOO]["comments"] == ["lists tools, not languages"]
    # Answered without complaint: not for review.
    assert COVERED not in review
    followup_abstained = any(not q.answerable for q in load_log(log.store) if q.conversation_id)
    assert len(review) == 3 + followup_abstained


def test_report_shows_week_over_week_drift_of_top_scores(log: Log) -> None:
    weekly = build_report(log.store, days=56, now=log.now)["weekly"]
    assert [week["queries"] for week in weekly] == [3, 5]
    logged = load_log(log.store)
    cutoff = log.now - 3 * DAY
    groups = [q for q in logged if q.created < cutoff], [q for q in logged if q.created >= cutoff]
    for week, group in zip(weekly, groups):
        scores = [q.top_score for q in group if q.top_score is not None]
        assert week["top_score_mean"] == round(statistics.fmean(scores), 4)
        assert week["abstention_rate"] == round(sum(not q.answerable for q in group) / len(group), 4)
    # The second week brought questions the guide does not cover: the mean similarity fell, and it shows.
    assert weekly[0]["top_score_change"] is None
    assert weekly[1]["top_score_change"] < -0.05
    assert weekly[1]["drift"] is True
    assert weekly[0]["abstention_rate"] == 0.0
    assert weekly[1]["abstention_rate"] >= 0.6


def test_report_window_leaves_older_queries_out(log: Log) -> None:
    assert build_report(log.store, days=3, now=log.now)["volume"]["queries"] == 5


def test_the_daily_rate_counts_the_days_since_the_first_query_not_the_window(
    log: Log, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The last three days hold only today's five questions: five a day, not 5 / 3.
    today = build_report(log.store, days=3, now=log.now)["volume"]
    assert today["queries"] == 5
    assert today["per_day"] == 5.0 and today["days_since_first_query"] == 1.0
    # The whole 56-day window: eight questions over the week since the first one, not eight over 56 days.
    whole = build_report(log.store, days=56, now=log.now)["volume"]
    first = min(q.created for q in load_log(log.store))
    since_first = (log.now - first) / DAY
    assert 7 <= since_first < 7.01
    assert whole["per_day"] == round(8 / since_first, 2)
    assert whole["days_since_first_query"] == 7.0
    # The terminal report says what the rate is taken over.
    monkeypatch.setenv("RAG_STATE_PATH", str(log.settings.state_path))
    assert main(["report", "--days", "3"]) == 0
    assert "Volume: 5 queries (5.0 a day over the 1 day since the first query)" in capsys.readouterr().out
    assert main(["report"]) == 0
    assert "Volume: 8 queries (1.14 a day over the 7 days since the first query)" in capsys.readouterr().out


def test_an_empty_log_reports_no_rate(tmp_path: Path) -> None:
    empty = build_report(StateStore(tmp_path / "empty.sqlite3"), days=56)
    assert empty["volume"]["queries"] == 0 and empty["volume"]["per_day"] == 0.0
    assert "Volume: 0 queries, 0 conversations" in format_report(empty)


def test_rag_report_prints_text_and_json(
    log: Log, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RAG_STATE_PATH", str(log.settings.state_path))
    assert main(["report"]) == 0
    text = capsys.readouterr().out
    assert "Volume: 8 queries" in text
    assert "Abstained: 3 (37.5%)" in text
    assert "1 👍, 1 👎" in text
    assert "[thumbs_down] ×1  " + COVERED_TOO in text
    assert "← drift" in text
    assert main(["report", "--json", "--slowest", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["volume"]["queries"] == 8 and len(report["slowest"]) == 2


def test_feedback_export_writes_dataset_lines_for_review(
    log: Log, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAG_STATE_PATH", str(log.settings.state_path))
    out = tmp_path / "review.jsonl"
    assert main(["feedback", "export", "--out", str(out)]) == 0
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    by_question = {line["question"]: line for line in lines}
    assert BREAD in by_question and COVERED_TOO in by_question
    for line in lines:
        assert line["source"] == "feedback"
        assert line["evidence"] == [] and line["facts"] == []
        assert line["id"] == dataset_id(line["question"])
    # Abstained and unchallenged: proposed as unanswerable; 👎 on an answer: the user expected one.
    assert by_question[BREAD]["answerable"] is False
    assert by_question[COVERED_TOO]["answerable"] is True
    assert by_question[COVERED_TOO]["comments"] == ["lists tools, not languages"]
    assert len({line["id"] for line in lines}) == len(lines)
    # The same questions export to the same ids, so a reviewed line is never added twice.
    again = feedback_dataset(load_log(log.store))
    assert [line["id"] for line in again] == [line["id"] for line in lines]


def test_feedback_export_is_a_dataset_the_harness_reads(log: Log, tmp_path: Path) -> None:
    from evals.dataset import load_dataset

    out = tmp_path / "review.jsonl"
    out.write_text("".join(json.dumps(line) + "\n" for line in feedback_dataset(load_log(log.store))), encoding="utf-8")
    items = load_dataset(out)
    assert {item.question for item in items} >= {BREAD, COVERED_TOO}
    assert all(item.extra["source"] == "feedback" for item in items)
