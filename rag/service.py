"""The question-answering service the CLI, the HTTP API and Slack all call: it holds the model,
the store and the retriever, validates input, and moves to a new index version when one appears."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace

from chromadb.api.models.Collection import Collection
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.vector_stores.chroma import ChromaVectorStore

from rag.answering.abstaining import AbstentionModel
from rag.answering.answerers import Answerer, build_answerer
from rag.errors import IndexMissing, IndexUnavailable, InvalidQuestion, RagError
from rag.index.embedding import load_embed_model
from rag.index.store import ChunkStore, connect, where
from rag.models import Answer, RetrievedChunk
from rag.operations.cache import AnswerCache, AnswerKey
from rag.operations.timing import record_outcome, stage
from rag.ranking.reader import shared_reader
from rag.ranking.retrieval import HybridRetriever, Ranking, RetrievalConfig
from rag.ranking.turns import resolve_followup, swaps_a_value
from rag.settings import Settings

# How often a serving process looks for a newer index version written by `rag ingest`.
VERSION_CHECK_SECONDS = 2.0
# Control characters (tab and line breaks aside) have no place in a question; in the query log they could
# rewrite a terminal that prints it (ANSI escapes) or cut a C string short (NUL).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
# Markup pasted into a question (an HTML tag or comment: `<img src=x onerror=...>`, `</b>`) says nothing
# about the hiring guide; left in, its words ("img", "src", "alert") would be searched for and could tip the
# answer into an abstention. A `<` not followed by a tag name ("< 5 years", "<3") is kept.
MARKUP = re.compile(
    r"<(script|style)\b[^>]*>.*?</\1\s*>|<!--.*?-->|</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>",
    re.DOTALL | re.IGNORECASE,
)


def swapped_from(question: str, resolved: str, history: Sequence[str]) -> str | None:
    """The earlier question a follow-up swaps a value of ("and for juniors?"): the place it found,
    under the new value, leads the follow-up's ranking. None for a turn asked on its own or with an
    ask of its own."""
    return history[-1] if history and resolved != question and swaps_a_value(question) else None


@dataclass(frozen=True)
class LoadedIndex:
    version: str
    retriever: HybridRetriever
    chunk_count: int
    collection: Collection


class QAService:
    """Answers questions from the active index; safe to share between threads."""

    def __init__(
        self,
        settings: Settings,
        embed_model: BaseEmbedding | None = None,
        retrieval_config: RetrievalConfig | None = None,
    ) -> None:
        self.settings = settings
        self.embed_model = embed_model or load_embed_model(settings.embed_model, settings.torch_threads)
        self.retrieval_config = retrieval_config or RetrievalConfig()
        # Extractive by default; with RAG_LLM set, a chat model whose verified replies fall back to it.
        self.answerer: Answerer = build_answerer(settings, self.embed_model)
        # The calibrated abstention model (None: an explicit RAG_ABSTAIN_THRESHOLD on similarity, or an older file).
        self.abstention = AbstentionModel.load(settings.threshold_file) if settings.abstain_threshold is None else None
        self.answers = AnswerCache(settings.answer_cache_size)
        self._lock = threading.Lock()
        self._index: LoadedIndex | None = None
        self._checked_at = 0.0
        self.version_check_seconds = VERSION_CHECK_SECONDS
        self._queried_version: str | None = None  # the index version a readiness probe has searched

    # -- index lifecycle -----------------------------------------------------------------------
    def _store(self) -> ChunkStore:
        return ChunkStore(connect(self.settings), where(self.settings))

    def load(self) -> LoadedIndex:
        """Open the active index version (raises IndexMissing / IndexUnavailable)."""
        store = self._store()
        version = store.require_active()
        embedder = str(getattr(self.embed_model, "model_name", "") or "")
        if version.embed_model and embedder and version.embed_model != embedder:
            # Its vectors and this model's questions would not be comparable: every search would be noise.
            raise IndexMissing(
                f"the index in the {store.label} was embedded by another model ({version.embed_model}); "
                "run `rag ingest` to embed it again"
            )
        collection = store.collection(version.collection)
        try:
            chunks = sorted(store.stored_chunks(collection).values(), key=lambda c: (c.source, c.start))
        except Exception as exc:
            raise IndexUnavailable(f"index {version.collection} cannot be read: {exc}") from exc
        retriever = HybridRetriever(
            ChromaVectorStore(chroma_collection=collection),
            chunks,
            self.embed_model,
            self.retrieval_config,
            reader=shared_reader() if self.settings.reader == "on" else None,
        )
        loaded = LoadedIndex(version.collection, retriever, len(chunks), collection)
        with self._lock:
            self._index = loaded
            self._checked_at = time.monotonic()
        return loaded

    def index(self) -> LoadedIndex:
        """The loaded index, reloaded when `rag ingest` has switched to a new version."""
        current = self._index
        if current is None:
            return self.load()
        if time.monotonic() - self._checked_at >= self.version_check_seconds:
            self._checked_at = time.monotonic()
            try:
                active = self._store().active_version()
            except RagError:
                return current  # keep serving what we have; readiness reports the outage
            if active and active.collection != current.version:
                return self.load()
        return current

    @property
    def loaded_index(self) -> LoadedIndex | None:
        """The index in service now, without loading or checking for a newer one (for metrics)."""
        return self._index

    def readiness(self) -> tuple[bool, str]:
        """Whether the index answers, and why not. A probe comes every few seconds, so each call makes only
        cheap checks (the active version, at most every VERSION_CHECK_SECONDS; one read of its collection);
        a whole search (embedding a question with the model) runs once per index version."""
        try:
            loaded = self.index()
            loaded.collection.count()  # the store is reachable and the collection is still there
            if self._queried_version != loaded.version:
                loaded.retriever.dense.ranking("readiness probe", 1)
                self._queried_version = loaded.version
        except RagError as exc:
            return False, str(exc)
        except Exception as exc:  # a store that fails in an unforeseen way is still "not ready", with why
            return False, f"index not queryable: {exc}"
        return True, f"index {loaded.version} with {loaded.chunk_count} chunks"

    # -- questions -----------------------------------------------------------------------------
    def check_question(self, question: object, field: str = "question") -> str:
        if not isinstance(question, str):
            raise InvalidQuestion(f"{field} must be a string", param=field)
        # Checked as sent (before stripping), which is what the OpenAPI schema can state.
        if len(question) > self.settings.max_question_chars:
            raise InvalidQuestion(f"{field} is longer than {self.settings.max_question_chars} characters", param=field)
        if CONTROL_CHARACTERS.search(question):
            raise InvalidQuestion(f"{field} contains control characters", param=field)
        cleaned = " ".join(MARKUP.sub(" ", question).split()) if MARKUP.search(question) else question.strip()
        if not cleaned:
            raise InvalidQuestion(f"{field} must not be empty", param=field)
        return cleaned

    def check_top_k(self, top_k: int | None) -> int:
        if top_k is None:
            return self.settings.top_k
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1 or top_k > self.settings.max_top_k:
            raise InvalidQuestion(f"top_k must be between 1 and {self.settings.max_top_k}, got {top_k}", param="top_k")
        return top_k

    def check_source(self, source: str | None) -> str | None:
        """A source filter must name a document of the index in service (its corpus-relative path)."""
        if source is None:
            return None
        if not isinstance(source, str) or source not in self.index().retriever.sources:
            raise InvalidQuestion(f"source {source!r} is not a document of the index", param="source")
        return source

    def retrieve(
        self, query: str, top_k: int | None = None, source: str | None = None, history: Sequence[str] = ()
    ) -> list[RetrievedChunk]:
        """The ranked chunks for `query`; with `history` (earlier questions, oldest first) a follow-up
        is resolved first, as `ask` does."""
        query = self.check_question(query, "query")
        k, source = self.check_top_k(top_k), self.check_source(source)
        resolved = self.resolve(query, history)
        earlier = swapped_from(query, resolved, history)
        return self.rank(resolved, k, source, earlier).retrieved

    def rank(self, query: str, k: int, source: str | None = None, earlier: str | None = None) -> Ranking:
        """The ranking of `query` and what the answerer reads of it; with `source`, only chunks of that
        document; `earlier`, the earlier question a follow-up swaps an alternative of."""
        with stage("retrieve"):
            loaded = self.index()
            try:
                return self._rank(loaded, query, k, source, earlier)
            except IndexUnavailable:
                # `rag ingest` may have switched twice since this process last looked, dropping the
                # collection it still reads: move to the active version and ask once more.
                if not self._superseded(loaded):
                    raise
            return self._rank(self.load(), query, k, source, earlier)

    def _rank(
        self, loaded: LoadedIndex, query: str, k: int, source: str | None = None, earlier: str | None = None
    ) -> Ranking:
        try:
            return loaded.retriever.rank(query, k, source, earlier)
        except RagError:
            raise
        except Exception as exc:
            raise IndexUnavailable(f"the index cannot be queried ({where(self.settings)}): {exc}") from exc

    def _superseded(self, loaded: LoadedIndex) -> bool:
        try:
            active = self._store().active_version()
        except RagError:
            return False
        return active is not None and active.collection != loaded.version

    def resolve(self, question: str, history: Sequence[str] = ()) -> str:
        """The question to search for: a follow-up is rewritten with the subject of the earlier turns."""
        retriever = self.index().retriever
        return resolve_followup(question, history, retriever.slots, retriever.synonyms)

    def ask(
        self, question: str, top_k: int | None = None, history: Sequence[str] = (), source: str | None = None
    ) -> Answer:
        """Answer `question`; `history` holds the earlier questions of the conversation, oldest first;
        `source` limits the evidence to one document."""
        question = self.check_question(question)
        k = self.check_top_k(top_k)
        source = self.check_source(source)
        loaded = self.index()
        resolved = self.resolve(question, history)
        threshold = getattr(self.answerer, "threshold", None)
        # A rewritten follow-up's answer also depends on where the earlier turn landed (its counterpart
        # leads); keyed by the earlier question, a repeat is served without searching for it again.
        earlier = swapped_from(question, resolved, history)
        key = AnswerKey(loaded.version, resolved, k, self.answerer.name, threshold, source, earlier)
        cached = self.answers.get(key, question)
        if cached is not None:
            best = max((r.dense_score for r in cached.retrieved), default=None)
            record_outcome(cached.query_id, cached.answerable, best, cached=True)
            return cached
        ranking = self.rank(resolved, k, source, earlier)
        retrieved = ranking.retrieved
        with stage("answer"):
            confidence = (
                self.abstention.probability(ranking.signals) if self.abstention is not None and retrieved else None
            )
            # The resolved question: a generator needs a follow-up spelled out as much as retrieval does.
            answer = self.answerer.compose(
                uuid.uuid4().hex,
                resolved,
                ranking.dense_text,
                retrieved,
                parts=ranking.parts,
                asked=ranking.asked,
                confidence=confidence,
            )
        record_outcome(answer.query_id, answer.answerable, max((r.dense_score for r in retrieved), default=None))
        answer = replace(answer, question=question, resolved_question=resolved)
        # Only extractive answers: they are a function of the key. A generated one depends on a remote model,
        # and a fallback to the extractive answer must not stick once the generator works again.
        if answer.answerer == "extractive" == self.answerer.name:
            self.answers.put(key, answer)
        return answer
