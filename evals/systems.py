"""The systems an evaluation compares: the project's served pipeline, and plain llama-index
defaults over the same embedding model (256-token `SentenceSplitter` chunks; dense, BM25, fused)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.answering.extractive import ExtractiveAnswerer
from rag.errors import ConfigurationError
from rag.models import Answer
from rag.reading.documents import load_documents
from rag.service import QAService


@dataclass(frozen=True)
class Hit:
    chunk_id: str
    section: str
    text: str
    score: float


@dataclass
class Run:
    """What one system did with one question."""

    resolved: str
    hits: list[Hit]
    retrieval_ms: float
    answer: Answer | None = None
    answer_ms: float = 0.0
    confidence: float | None = None
    extra: dict[str, object] = field(default_factory=dict)


class System(Protocol):
    name: str
    answers: bool

    def run(self, question: str, depth: int, history: Sequence[str]) -> Run: ...


def extractive_answerer(service: QAService) -> ExtractiveAnswerer:
    """The extractive answerer whose confidence decides abstention (also inside a generative one)."""
    answerer = service.answerer
    inner = answerer if isinstance(answerer, ExtractiveAnswerer) else getattr(answerer, "extractive", None)
    if not isinstance(inner, ExtractiveAnswerer):
        raise ConfigurationError("evaluation needs an answerer with an extractive confidence")
    return inner


class ProjectSystem:
    """The same `QAService` that serves users: follow-up resolution, hybrid retrieval, extractive answers."""

    answers = True

    def __init__(self, service: QAService, name: str = "project") -> None:
        self.service = service
        self.name = name

    def run(self, question: str, depth: int, history: Sequence[str]) -> Run:
        started = time.perf_counter()
        resolved = self.service.resolve(question, history)
        retrieved = self.service.retrieve(question, depth, history=history)
        retrieval_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        answer = self.service.ask(question, None, history)
        answer_ms = (time.perf_counter() - started) * 1000
        hits = [Hit(r.chunk.chunk_id, r.chunk.section_path, r.chunk.text, r.score) for r in retrieved]
        confidence = answer.confidence
        if confidence is None:
            confidence = extractive_answerer(self.service).confidence(answer.retrieved)
        return Run(resolved, hits, retrieval_ms, answer, answer_ms, confidence)


class LlamaIndexBaseline:
    """A retriever built the way the llama-index docs start: defaults everywhere but the model."""

    answers = False

    def __init__(self, name: str, retriever_for_k) -> None:  # type: ignore[no-untyped-def]
        self.name = name
        self._retriever_for_k = retriever_for_k

    def run(self, question: str, depth: int, history: Sequence[str]) -> Run:
        started = time.perf_counter()
        nodes = self._retriever_for_k(depth).retrieve(question)
        elapsed = (time.perf_counter() - started) * 1000
        hits = [Hit(n.node.node_id, "", n.node.get_content(), float(n.score or 0.0)) for n in nodes]
        return Run(question, hits, elapsed)


def llamaindex_baselines(corpus_dir: Path, embed_model: BaseEmbedding) -> list[LlamaIndexBaseline]:
    """Dense, BM25 and reciprocal-rank fused retrievers over `SentenceSplitter(chunk_size=256)` nodes."""
    from llama_index.core import Document, Settings, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.core.retrievers import QueryFusionRetriever
    from llama_index.core.retrievers.fusion_retriever import FUSION_MODES
    from llama_index.retrievers.bm25 import BM25Retriever

    Settings.llm = None  # no LLM is configured: keep llama-index from reaching for OpenAI
    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG
    documents = [Document(text=d.text, metadata={"source": d.source}) for d in load_documents(corpus_dir)]
    nodes = SentenceSplitter(chunk_size=256).get_nodes_from_documents(documents)
    index = VectorStoreIndex(nodes, embed_model=embed_model)
    cache: dict[tuple[str, int], object] = {}

    def dense(k: int):  # type: ignore[no-untyped-def]
        return cache.setdefault(("dense", k), index.as_retriever(similarity_top_k=k))

    def bm25(k: int):  # type: ignore[no-untyped-def]
        return cache.setdefault(("bm25", k), BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=k))

    def fused(k: int):  # type: ignore[no-untyped-def]
        return cache.setdefault(
            ("fused", k),
            QueryFusionRetriever(
                [dense(k), bm25(k)],
                similarity_top_k=k,
                num_queries=1,
                mode=FUSION_MODES.RECIPROCAL_RANK,
                use_async=False,
            ),
        )

    return [
        LlamaIndexBaseline("llamaindex-dense", dense),
        LlamaIndexBaseline("llamaindex-bm25", bm25),
        LlamaIndexBaseline("llamaindex-fused", fused),
    ]
