"""Re-indexing while `rag serve --workers 2` answers a steady stream of questions: no request fails,
and once `rag ingest` has switched versions every worker answers from the new text, with no restart."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.index.ingest import ingest
from rag.settings import Settings
from tests.conftest import GUIDE, make_settings
from tests.served_process import RagServe, fresh_post

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUESTION = "How fast is the AI engineer job market projected to grow?"
OLD_FACT = "Growth Rate: 35% projected job growth through 2030"
NEW_FACT = "Growth Rate: 41% projected job growth through 2031"
LATEST_FACT = "Growth Rate: 52% projected job growth through 2032"


@dataclass
class Reply:
    request_id: str
    sent: float
    status: int
    answer: str


class QuestionStream:
    """Clients asking QUESTION over and over on fresh connections, every reply kept."""

    def __init__(self, url: str, clients: int = 3) -> None:
        self.url = url
        self.replies: list[Reply] = []
        self.errors: list[str] = []
        self.stopping = threading.Event()
        self.ids = itertools.count()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.ask_until_stopped, daemon=True) for _ in range(clients)]

    def ask_until_stopped(self) -> None:
        while not self.stopping.is_set():
            with self.lock:
                request_id = f"stream-{next(self.ids)}"
            sent = time.monotonic()
            try:
                response = fresh_post(self.url + "/v1/query", {"question": QUESTION}, request_id)
                body = response.json()
                reply = Reply(request_id, sent, response.status_code, str(body.get("answer", body)))
            except Exception as exc:  # a refused or dropped connection is a failure too
                with self.lock:
                    self.errors.append(f"{request_id}: {type(exc).__name__}: {exc}")
                continue
            with self.lock:
                self.replies.append(reply)

    def since(self, moment: float) -> list[Reply]:
        with self.lock:
            return [r for r in self.replies if r.sent >= moment]

    def __enter__(self) -> QuestionStream:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(60)


def wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def every_worker_moved(stream: QuestionStream, served: RagServe, sent_after: float, fact: str) -> float:
    """Wait until each worker has answered with `fact` a request sent after `sent_after`, and return the
    moment that was seen: a worker swaps its index before it answers from it, so whatever is sent from
    then on is answered from the new text. A real condition, not a guess at how long a reload takes."""
    workers = served.started_workers()
    assert len(workers) == 2, workers

    def moved() -> bool:
        pids = {e.get("request_id"): int(e["pid"]) for e in served.access_entries()}
        return workers <= {pids.get(r.request_id) for r in stream.since(sent_after) if fact in r.answer}

    wait_for(moved, 120, f"every worker to answer with {fact!r}")
    return time.monotonic()


@pytest.fixture()
def corpus_index(tmp_path: Path, embed_model: BaseEmbedding) -> Settings:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / GUIDE.name).write_bytes(GUIDE.read_bytes())
    settings = make_settings(tmp_path, corpus=corpus)
    ingest(settings, embed_model)
    return settings


@pytest.fixture()
def served(corpus_index: Settings, tmp_path: Path) -> Iterator[RagServe]:
    env = {
        "RAG_CORPUS_DIR": str(corpus_index.corpus_dir),
        "RAG_INDEX_DIR": str(corpus_index.index_dir),
        "RAG_STATE_PATH": str(corpus_index.state_path),
    }
    with RagServe(env, workers=2, cwd=tmp_path) as server:
        yield server


def edit_guide(settings: Settings, old: str, new: str) -> None:
    path = settings.corpus_dir / GUIDE.name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8", newline="")


def test_workers_move_to_each_new_index_without_a_failed_request(
    served: RagServe, corpus_index: Settings, embed_model: BaseEmbedding
) -> None:
    with QuestionStream(served.url) as stream:
        started = time.monotonic()
        wait_for(lambda: len(stream.since(started)) >= 6, 120, "answers before the re-index")
        assert all("35%" in r.answer for r in stream.since(started)), stream.since(started)[:2]

        edit_guide(corpus_index, OLD_FACT, NEW_FACT)
        during = time.monotonic()
        report = ingest(corpus_index, embed_model)
        switched = time.monotonic()
        assert report.switched and report.updated + report.added >= 1 and report.embedded < 10
        # Each worker looks for a new version every VERSION_CHECK_SECONDS and then reloads, which takes as
        # long as it takes on a busy machine; once each has answered from the new text, only new text.
        settled = every_worker_moved(stream, served, switched, "41%")
        wait_for(lambda: len(stream.since(settled)) >= 12, 120, "answers after the switch")
        after_first = stream.since(settled)
        overlapped = [r for r in stream.since(during) if r.sent < switched]

        # Two switches in a row: the second drops the version before the first, which a worker that has
        # not looked yet may still be reading. It must move on, not fail the request.
        edit_guide(corpus_index, NEW_FACT, LATEST_FACT)
        first = ingest(corpus_index, embed_model)
        edit_guide(corpus_index, LATEST_FACT, OLD_FACT)
        second = ingest(corpus_index, embed_model)
        assert first.switched and second.switched
        settled_again = every_worker_moved(stream, served, time.monotonic(), "35%")
        wait_for(lambda: len(stream.since(settled_again)) >= 12, 120, "answers after the second switch")

    assert stream.errors == []
    assert [(r.status, r.answer) for r in stream.replies if r.status != 200] == []
    assert overlapped, "no request overlapped the re-index"
    assert all("41%" in r.answer and "35%" not in r.answer for r in after_first), [r.answer for r in after_first][:3]
    # Both workers served the new text (so both switched, neither was restarted).
    assert len({served.pid_of(r.request_id) for r in after_first}) == 2
    assert all("35%" in r.answer for r in stream.since(settled_again))
