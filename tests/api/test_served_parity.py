"""What the harness measures is what a caller of the HTTP API gets. The quality gate runs the golden
set through `QAService` in-process; held-out questions written by others are asked through
`/v1/retrieve` and `/v1/query` of a served app. Every question of every committed dataset must get
the same ranking and the same answer both ways; a follow-up is asked in a conversation that holds
its earlier turns (`/v1/retrieve` has no conversation, so only its answer is compared)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding

from api.app import create_app
from evals.dataset import DEFAULT_DATASET, load_dataset
from evals.runner import history_for
from rag.service import QAService
from rag.settings import Settings
from tests.serving import serve

DATASETS = Path(__file__).resolve().parents[2] / "evals" / "datasets"
DEPTH = 10  # the deepest cut-off the harness scores


@pytest.fixture(scope="module")
def base_url(
    built_settings: Settings, tmp_path_factory: pytest.TempPathFactory, embed_model: BaseEmbedding
) -> Iterator[str]:
    state = tmp_path_factory.mktemp("parity-state") / "rag.sqlite3"
    settings = built_settings.model_copy(update={"state_path": state, "rate_limit_per_minute": 0})
    with serve(create_app(settings, QAService(settings, embed_model=embed_model))) as url:
        yield url


@pytest.mark.slow
@pytest.mark.parametrize(
    "dataset",
    [DEFAULT_DATASET, DATASETS / "external.jsonl", DATASETS / "fresh.jsonl", DATASETS / "fresh2.jsonl"],
    ids=["golden", "external", "fresh", "fresh2"],
)
def test_served_routes_answer_as_the_harness_measured(base_url: str, service: QAService, dataset: Path) -> None:
    items = load_dataset(dataset)
    by_id = {item.id: item for item in items}
    assert len(items) >= 50
    differ = []
    with httpx.Client(base_url=base_url, timeout=60) as client:
        for item in items:
            question, history = item.question, history_for(item, by_id)
            conversation = uuid.uuid4().hex
            for earlier in history:
                client.post("/v1/query", json={"question": earlier, "conversation_id": conversation})
            answered = client.post("/v1/query", json={"question": question, "conversation_id": conversation})
            assert answered.status_code == 200, question
            answer = answered.json()
            local = service.ask(question, None, history)
            same = (
                answer["answer"] == local.answer
                and answer["answerable"] is local.answerable
                and [(c["chunk_id"], c["start"], c["end"]) for c in answer["citations"]]
                == [(c.chunk_id, c.start, c.end) for c in local.citations]
            )
            if not history:
                served = client.post("/v1/retrieve", json={"query": question, "top_k": DEPTH})
                assert served.status_code == 200, question
                ranking = [r["chunk_id"] for r in served.json()["results"]]
                same = same and ranking == [r.chunk.chunk_id for r in service.retrieve(question, DEPTH)]
            if not same:
                differ.append(question)
    assert not differ, f"{len(differ)} of {len(items)} questions differ when served, e.g. {differ[:3]}"
