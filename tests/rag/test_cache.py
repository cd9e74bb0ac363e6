"""The answer cache: a repeated question is served without embedding or searching again, each time
with its own query id; a new index version or another threshold is never answered from old entries."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.index.ingest import ingest
from rag.models import Answer
from rag.operations.cache import AnswerCache, AnswerKey
from rag.operations.timing import QueryTrace, traced
from rag.service import QAService
from rag.settings import Settings
from tests.conftest import make_settings

SEATTLE = "What do AI engineers earn in Seattle?"


def key(question: str = "q", version: str = "v1", **fields: object) -> AnswerKey:
    values: dict[str, object] = {"top_k": 5, "answerer": "extractive", "threshold": 0.4, "source": None}
    values.update(fields)
    return AnswerKey(version, question, **values)  # type: ignore[arg-type]


def answer(text: str) -> Answer:
    return Answer(query_id="original", question="asked before", answer=text, answerable=True)


def stages_of(call: Callable[[], Answer]) -> tuple[Answer, QueryTrace]:
    """Run `call` the way the API does (a worker thread in a copied context) and return what it traced."""
    with traced() as trace:
        result: list[Answer] = []
        context = contextvars.copy_context()
        worker = threading.Thread(target=context.run, args=(lambda: result.append(call()),))
        worker.start()
        worker.join()
    return result[0], trace


# -- the cache on its own --------------------------------------------------------------------------
def test_a_hit_is_the_stored_answer_reissued_with_a_fresh_query_id() -> None:
    cache = AnswerCache(4)
    assert cache.get(key(), "first asker") is None
    cache.put(key(), answer("A [1]"))
    first = cache.get(key(), "second asker")
    second = cache.get(key(), "third asker")
    assert first is not None and second is not None
    assert first.answer == second.answer == "A [1]"
    assert len({first.query_id, second.query_id, "original"}) == 3
    assert (first.question, second.question) == ("second asker", "third asker")
    assert (cache.hits, cache.misses) == (2, 1)


def test_every_part_of_the_key_counts() -> None:
    cache = AnswerCache(8)
    cache.put(key(), answer("A"))
    for other in (key("other"), key(top_k=3), key(answerer="openai"), key(threshold=0.9), key(source="a.txt")):
        assert cache.get(other, "q") is None


def test_the_least_recently_used_entry_goes_first() -> None:
    cache = AnswerCache(2)
    cache.put(key("a"), answer("A"))
    cache.put(key("b"), answer("B"))
    assert cache.get(key("a"), "a") is not None  # "a" is now the most recent
    cache.put(key("c"), answer("C"))
    assert cache.get(key("b"), "b") is None
    assert cache.get(key("a"), "a") is not None and cache.get(key("c"), "c") is not None
    assert len(cache) == 2


def test_a_new_index_version_drops_every_older_entry() -> None:
    cache = AnswerCache(4)
    cache.put(key("a"), answer("A"))
    cache.put(key("b"), answer("B"))
    assert cache.get(key("a", version="v2"), "a") is None
    assert len(cache) == 0
    assert cache.get(key("b"), "b") is None  # gone, not merely hidden


def test_size_zero_turns_it_off_and_a_negative_size_is_refused() -> None:
    cache = AnswerCache(0)
    cache.put(key(), answer("A"))
    assert cache.get(key(), "q") is None and len(cache) == 0 and not cache.enabled
    with pytest.raises(ValueError, match="got -1"):
        AnswerCache(-1)


# -- in the service -----------------------------------------------------------------------------
@pytest.fixture()
def fresh_service(built_settings: Settings, embed_model: BaseEmbedding) -> QAService:
    """A service of its own (the session one is shared): its cache starts empty."""
    qa = QAService(built_settings, embed_model=embed_model)
    qa.load()
    return qa


def test_a_repeated_question_skips_embedding_and_searching(fresh_service: QAService) -> None:
    first, first_trace = stages_of(lambda: fresh_service.ask(SEATTLE))
    again, again_trace = stages_of(lambda: fresh_service.ask(SEATTLE))
    assert {"embed", "retrieve", "answer"} <= set(first_trace.stages)
    assert again_trace.stages == {}  # nothing embedded, searched or composed
    assert again.answer == first.answer and again.citations == first.citations and again.answerable
    assert again.query_id != first.query_id
    # Metrics still count the cached answer, under its own query id.
    assert [o.query_id for o in again_trace.outcomes] == [again.query_id]
    assert fresh_service.answers.hits == 1


def test_a_follow_up_is_cached_under_what_it_resolves_to(fresh_service: QAService) -> None:
    history = ["What do AI engineers earn in Austin?"]
    asked = fresh_service.ask("And in Seattle?", history=history)
    # Another wording that resolves the same way, after the same turn, is the same entry ...
    again = fresh_service.ask("and in Seattle", history=history)
    assert fresh_service.answers.hits == 1
    assert again.answer == asked.answer and again.question == "and in Seattle"
    # ... but the resolved question asked on its own is not: a follow-up's answer also depends on
    # where the earlier turn landed (its counterpart is ranked first).
    fresh_service.ask(asked.resolved_question)
    assert fresh_service.answers.hits == 1


def test_a_changed_threshold_is_not_answered_from_the_cache(fresh_service: QAService) -> None:
    assert fresh_service.ask(SEATTLE).answerable
    fresh_service.answerer.threshold = 0.999  # type: ignore[attr-defined]
    assert not fresh_service.ask(SEATTLE).answerable


def test_cache_size_zero_answers_every_time_from_the_index(
    built_settings: Settings, embed_model: BaseEmbedding
) -> None:
    qa = QAService(built_settings.model_copy(update={"answer_cache_size": 0}), embed_model=embed_model)
    qa.ask(SEATTLE)
    _, trace = stages_of(lambda: qa.ask(SEATTLE))
    assert "embed" in trace.stages and len(qa.answers) == 0


def test_each_cached_answer_is_logged_and_rated_on_its_own(client: TestClient) -> None:
    ids = [client.post("/v1/query", json={"question": SEATTLE}).json()["query_id"] for _ in range(2)]
    assert ids[0] != ids[1]
    assert client.app.state.service.answers.hits == 1  # type: ignore[attr-defined]
    store = client.app.state.store  # type: ignore[attr-defined]
    assert all(store.query_exists(query_id) for query_id in ids)
    for query_id, rating in zip(ids, ("up", "down")):
        response = client.post("/v1/feedback", json={"query_id": query_id, "rating": rating})
        assert response.status_code == 200, response.text
    rows = store.rows("SELECT query_id, rating FROM feedback ORDER BY id")
    assert [tuple(r) for r in rows[-2:]] == [(ids[0], "up"), (ids[1], "down")]


@pytest.mark.slow
def test_after_a_reingest_the_new_text_is_answered(
    corpus_copy: Path, tmp_path: Path, embed_model: BaseEmbedding
) -> None:
    settings = make_settings(tmp_path, corpus=corpus_copy)
    ingest(settings, embed_model)
    qa = QAService(settings, embed_model=embed_model)
    qa.version_check_seconds = 0.0  # look for a new index version on every question
    before = qa.ask(SEATTLE)
    assert "$160,000 - $220,000" in before.answer

    guide = next(corpus_copy.glob("*.txt"))
    guide.write_text(
        guide.read_text(encoding="utf-8").replace("Seattle $160,000 - $220,000", "Seattle $171,000 - $233,000"),
        encoding="utf-8",
    )
    ingest(settings, embed_model)
    after = qa.ask(SEATTLE)
    assert "$171,000 - $233,000" in after.answer and "$160,000" not in after.answer
    assert qa.answers.hits == 0
