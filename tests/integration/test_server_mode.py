"""Server mode: with RAG_CHROMA_HOST/PORT set, `ingest` and the API use a real `chroma run` server,
with the same answers as the embedded store — and ride out the server going away and coming back."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from llama_index.core.base.embeddings.base import BaseEmbedding

from api.app import create_app
from rag.index.ingest import IngestReport, ingest
from rag.index.ingest_lease import IngestRunning, Lease, read_lease, server_ingest_lease, write_lease
from rag.index.store import META_COLLECTION, connect, where
from rag.service import QAService
from rag.settings import Settings
from tests.chroma_server import ChromaServer
from tests.conftest import GUIDE, make_settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUESTIONS = [
    "What is the salary range for a senior AI engineer?",
    "Which programming languages should an AI engineer know?",
    "What is the capital of France?",
]


@dataclass(frozen=True)
class ServerIndex:
    server: ChromaServer
    settings: Settings
    first: IngestReport


@pytest.fixture(scope="module")
def server_index(tmp_path_factory: pytest.TempPathFactory, embed_model: BaseEmbedding) -> Iterator[ServerIndex]:
    """One Chroma server for the module, with the corpus ingested into it once."""
    tmp = tmp_path_factory.mktemp("server-mode")
    server = ChromaServer(tmp / "chroma")
    server.start()
    try:
        settings = make_settings(tmp, RAG_INDEX_DIR=tmp / "local-index", **server.settings_env())
        yield ServerIndex(server, settings, ingest(settings, embed_model))
    finally:
        server.stop()


@pytest.fixture()
def server_client(server_index: ServerIndex, embed_model: BaseEmbedding) -> Iterator[TestClient]:
    # No answer cache: a repeated question must reach the server, or an outage would go unseen.
    settings = server_index.settings.model_copy(update={"answer_cache_size": 0})
    with TestClient(create_app(settings, QAService(settings, embed_model=embed_model))) as client:
        yield client


def test_ingest_writes_to_the_server_not_the_index_folder(
    server_index: ServerIndex, embed_model: BaseEmbedding, built_settings: Settings
) -> None:
    first, settings = server_index.first, server_index.settings
    assert first.switched and first.added > 100 and first.embedded == first.added
    assert not settings.index_dir.exists()
    assert (server_index.server.path / "chroma.sqlite3").exists()
    # Same corpus, same chunks as the embedded index; and a second run changes nothing.
    local = QAService(built_settings, embed_model=embed_model).load()
    assert local.chunk_count == first.added
    again = ingest(settings, embed_model)
    assert (again.embedded, again.switched, again.unchanged) == (0, False, first.added)


def test_api_answers_from_the_server_as_from_the_embedded_store(server_client: TestClient, client: TestClient) -> None:
    ready = server_client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    for question in QUESTIONS:
        remote = server_client.post("/v1/query", json={"question": question}).json()
        local = client.post("/v1/query", json={"question": question}).json()
        assert remote["answer"] == local["answer"]
        assert remote["answerable"] == local["answerable"]
        assert remote["citations"] == local["citations"]
    remote_chunks = server_client.post("/v1/retrieve", json={"query": "remote work", "top_k": 8}).json()
    local_chunks = client.post("/v1/retrieve", json={"query": "remote work", "top_k": 8}).json()
    remote_ids = [r["chunk_id"] for r in remote_chunks["results"]]
    local_ids = [r["chunk_id"] for r in local_chunks["results"]]
    # The vector search is approximate (HNSW, built with several threads): a store may now and then miss
    # a weak neighbour near the end of the 30 candidates, which moves the low ranks. A CI run saw rank 5
    # of 8 differ. The clear winners must agree exactly, the rest nearly.
    assert remote_ids[:3] == local_ids[:3]
    assert len(set(remote_ids) & set(local_ids)) >= 6


def test_server_outage_is_a_503_and_the_service_recovers_on_restart(
    server_client: TestClient, server_index: ServerIndex
) -> None:
    chroma_server = server_index.server
    question = {"question": QUESTIONS[0]}
    before = server_client.post("/v1/query", json=question).json()
    chroma_server.stop()
    down = server_client.post("/v1/query", json=question)
    assert down.status_code == 503
    assert down.json()["error"]["code"] == "index_unavailable"
    assert server_client.get("/readyz").status_code == 503
    chroma_server.start()  # same folder, same port
    assert server_client.get("/readyz").status_code == 200
    after = server_client.post("/v1/query", json=question).json()
    assert after["answer"] == before["answer"]


def test_a_second_ingest_refuses_while_one_holds_the_server(
    server_index: ServerIndex, embed_model: BaseEmbedding
) -> None:
    settings = server_index.settings
    with server_ingest_lease(connect(settings), where(settings), settle=0.05) as held:
        with pytest.raises(IngestRunning, match="another `rag ingest`") as refused:
            ingest(settings, embed_model)
        assert held.owner in str(refused.value)
    # Released at the end of the block: the next ingest runs (and finds nothing to do).
    assert ingest(settings, embed_model).embedded == 0
    assert read_lease(connect(settings).get_collection(META_COLLECTION)) is None


def test_two_claims_at_the_same_moment_leave_one_winner(server_index: ServerIndex) -> None:
    settings = server_index.settings
    start = threading.Barrier(2)
    outcomes: list[str] = []
    release = threading.Event()

    def claim() -> None:
        client = connect(settings)
        start.wait()
        try:
            with server_ingest_lease(client, where(settings), settle=0.5):
                outcomes.append("won")
                release.wait(10)
        except IngestRunning:
            outcomes.append("refused")
            release.set()

    threads = [threading.Thread(target=claim) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["refused", "won"]


def test_a_claim_left_by_a_dead_ingest_lapses(server_index: ServerIndex, embed_model: BaseEmbedding) -> None:
    settings = server_index.settings
    meta = connect(settings).get_collection(META_COLLECTION)
    write_lease(meta, Lease("crashed-host pid 1", expires=time.time() - 1, started=time.time() - 120))
    assert ingest(settings, embed_model).embedded == 0
    assert read_lease(meta) is None


def test_a_service_behind_two_switches_moves_on_instead_of_failing(
    server_index: ServerIndex, embed_model: BaseEmbedding, tmp_path: Path
) -> None:
    """Two ingests in a row drop the version before the first; a worker that has not looked for a new
    version since still reads that dropped collection. Its next question must be answered, not fail."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    guide = corpus / GUIDE.name
    guide.write_bytes(GUIDE.read_bytes())
    settings = server_index.settings.model_copy(update={"corpus_dir": corpus})
    service = QAService(settings, embed_model=embed_model)
    service.version_check_seconds = 3600.0  # it will not look on its own during this test
    before = service.load()
    try:
        for old, new in (("35%", "41%"), ("41%", "52%")):
            guide.write_text(guide.read_text(encoding="utf-8").replace(old, new), encoding="utf-8", newline="")
            assert ingest(settings, embed_model).switched
        answer = service.ask("How fast is the AI engineer job market projected to grow?")
        assert "52%" in answer.answer
        assert service.loaded_index is not None and service.loaded_index.version != before.version
    finally:
        ingest(server_index.settings, embed_model)  # the module's other tests expect the real corpus
