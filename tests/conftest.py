"""Shared fixtures: the packaged model (loaded once), a real Chroma index built in a temp folder,
and the real app through `TestClient` with `lifespan` running."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from llama_index.core.base.embeddings.base import BaseEmbedding

from api.app import create_app
from rag.index.embedding import load_embed_model
from rag.index.ingest import ingest
from rag.service import QAService
from rag.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
GUIDE = CORPUS / "ai-engineer-job-description-2026.txt"


def make_settings(tmp: Path, corpus: Path = CORPUS, **overrides: object) -> Settings:
    """Settings for a test: its own index folder, nothing read from the developer's environment."""
    values: dict[str, object] = {
        "RAG_CORPUS_DIR": corpus,
        "RAG_INDEX_DIR": tmp / "index",
        "RAG_STATE_PATH": tmp / "state" / "rag.sqlite3",
        "RAG_CHROMA_HOST": None,
        "RAG_API_KEYS": "",
        "SLACK_BOT_TOKEN": None,
        "SLACK_SIGNING_SECRET": None,
        "SLACK_APP_TOKEN": None,
        "RAG_LLM": "extractive",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


@pytest.fixture(scope="session")
def embed_model() -> BaseEmbedding:
    return load_embed_model()


@pytest.fixture(scope="session")
def handbook_settings(tmp_path_factory: pytest.TempPathFactory, embed_model: BaseEmbedding) -> Settings:
    """The 18F handbook pages, read where they lie beside the repository, indexed once a session in a
    temp folder (the quality gate and the Markdown tests share it)."""
    from evals.corpora import CORPORA

    if not CORPORA["18f"].is_dir():
        pytest.skip(f"the 18F handbook pages are not beside the project: expected at {CORPORA['18f']}")
    settings = make_settings(tmp_path_factory.mktemp("handbook"), CORPORA["18f"], RAG_RATE_LIMIT_PER_MINUTE=0)
    ingest(settings, embed_model)
    return settings


@pytest.fixture(scope="session")
def guide_text() -> str:
    with GUIDE.open(encoding="utf-8", newline="") as handle:
        return handle.read()


@pytest.fixture(scope="session")
def built_settings(tmp_path_factory: pytest.TempPathFactory, embed_model: BaseEmbedding) -> Settings:
    """An index of the real corpus, built once per test session; tests must not modify it."""
    settings = make_settings(tmp_path_factory.mktemp("built"))
    ingest(settings, embed_model)
    return settings


@pytest.fixture(scope="session")
def service(built_settings: Settings, embed_model: BaseEmbedding) -> QAService:
    qa = QAService(built_settings, embed_model=embed_model)
    qa.load()
    return qa


@pytest.fixture()
def client(built_settings: Settings, embed_model: BaseEmbedding) -> Iterator[TestClient]:
    app = create_app(built_settings, QAService(built_settings, embed_model=embed_model))
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture()
def corpus_copy(tmp_path: Path) -> Path:
    """A private, editable copy of the corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target
