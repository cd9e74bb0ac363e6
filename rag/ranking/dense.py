"""The dense half of the search: the question embedded by the packaged model (in the corpus's own
words, without its common words) and the nearest chunks in Chroma."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.vector_stores.types import MetadataFilter, MetadataFilters, VectorStoreQuery
from llama_index.vector_stores.chroma import ChromaVectorStore

from rag.models import Chunk
from rag.operations.timing import stage
from rag.ranking.lexicon import SynonymGroup, in_guide_words, strip_common_words

# Question embeddings kept for searches of the same text (see `query_vector`).
QUERY_VECTORS_KEPT = 64
# Where the question as typed is kept among them (`typed_vector`).
TYPED = "\x00typed "


class DenseSearch:
    def __init__(
        self,
        vector_store: ChromaVectorStore,
        embed_model: BaseEmbedding,
        chunks: Sequence[Chunk],
        by_id: dict[str, int],
        common: frozenset[str],
        synonyms: tuple[SynonymGroup, ...],
        guide_words: bool = True,
        strip_common: bool = True,
    ) -> None:
        self.vector_store = vector_store
        self.embed_model = embed_model
        self.chunks = chunks
        self.by_id = by_id
        self.common = common
        self.synonyms = synonyms
        self.guide_words = guide_words
        self.strip_common = strip_common
        self.vectors: dict[str, list[float]] = {}
        self.heading_vectors: dict[str, np.ndarray] = {}

    def forget(self) -> None:
        """Embeddings are kept for one question, not across them (that is the answer cache's job)."""
        self.vectors = {}

    def query_text(self, question: str) -> str:
        """What the embedder reads: the question in the guide's words, without corpus-common words."""
        if self.guide_words:
            question = in_guide_words(question, self.synonyms)
        return strip_common_words(question, self.common) if self.strip_common else question

    def query_vector(self, question: str) -> list[float]:
        """The question's embedding. Kept while one question is searched (see `search_parts`): it is
        searched several times (the ranker's heading similarity, a follow-up's earlier turn) and
        embedding is most of a search's cost."""
        text = self.query_text(question)
        vector = self.vectors.get(text)
        if vector is None:
            self.embed(text, question)
            vector = self.vectors[text]
        return vector

    def typed_vector(self, question: str) -> list[float]:
        """The embedding of the question as typed, its common words and all: what the shape
        classifier reads (rag/answering/asked_shape.py), since "list all" or "tell me about" say the
        shape asked for. Embedded in one batch with `query_vector`'s text, which costs a fraction of
        a second pass."""
        key = TYPED + question
        if key not in self.vectors:
            self.embed(self.query_text(question), question)
        return self.vectors[key]

    def embed(self, text: str, question: str) -> None:
        """Embed the search text and the question as typed together, and keep both."""
        texts = list(dict.fromkeys([text, question]))
        with stage("embed"):
            vectors = self.embed_model.get_text_embedding_batch(texts)
        while len(self.vectors) >= QUERY_VECTORS_KEPT:
            self.vectors.pop(next(iter(self.vectors)))
        by_text = dict(zip(texts, vectors, strict=True))
        self.vectors[text] = by_text[text]
        self.vectors[TYPED + question] = by_text[question]

    def heading_similarity(self, question: str, indices: Sequence[int]) -> np.ndarray:
        """Cosine of the question with each candidate's heading path; a path is embedded the first
        time a candidate under it is ranked, then kept."""
        paths = [self.chunks[i].section_path for i in indices]
        missing = list(dict.fromkeys(p for p in paths if p not in self.heading_vectors))
        if missing:
            with stage("embed"):
                for path, vector in zip(missing, self.embed_model.get_text_embedding_batch(missing), strict=True):
                    self.heading_vectors[path] = np.asarray(vector) / (np.linalg.norm(vector) or 1.0)
        q = np.asarray(self.query_vector(question))
        q = q / (np.linalg.norm(q) or 1.0)
        return np.asarray([float(self.heading_vectors[p] @ q) for p in paths])

    def ranking(self, question: str, depth: int, source: str | None = None) -> list[tuple[int, float]]:
        vector = self.query_vector(question)
        # With a source, Chroma filters on the chunk's `source` metadata (a `where` clause) before ranking.
        only = MetadataFilters(filters=[MetadataFilter(key="source", value=source)]) if source else None
        result = self.vector_store.query(VectorStoreQuery(query_embedding=vector, similarity_top_k=depth, filters=only))
        ranking = []
        for node_id, similarity in zip(result.ids or [], result.similarities or []):
            index = self.by_id.get(node_id)
            if index is not None:
                # ChromaVectorStore reports exp(-distance); the cosine is 1 - distance.
                ranking.append((index, 1.0 + math.log(max(similarity, 1e-12))))
        return ranking
