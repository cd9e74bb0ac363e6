"""Where a question is ranked: a dense search (Chroma) and BM25 over the same chunks each give their
candidates, every candidate gets its feature row (rag/ranking/features.py) and one learned function
scores them (rag/ranking/model.py). Written as a llama-index retriever so it composes with llama-index
tooling. Rules act on the documents' structure around the scoring: a several-part question is
ranked part by part (rag/ranking/parts.py); a follow-up that swaps an alternative leads with the counterpart of
where the earlier turn landed (rag/ranking/counterpart.py). `rank` is the one entry of a question:
its ranking, what it asks of the structure and the abstention signals, in one pass."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from llama_index.vector_stores.chroma import ChromaVectorStore

from rag.answering.asked_shape import shared_shape_model
from rag.answering.shapes import Asked, Outline
from rag.models import Chunk, RetrievedChunk
from rag.ranking.bm25 import BM25Index
from rag.ranking.counterpart import Counterparts
from rag.ranking.dense import DenseSearch
from rag.ranking.features import Candidate, PassageFacts, feature_matrix
from rag.ranking.figures import asks_for_a_figure, asks_for_a_percentage
from rag.ranking.followup import alternative_groups, slot_vocabulary
from rag.ranking.lexicon import (
    SynonymGroup,
    common_terms,
    load_synonyms,
    weighted_terms,
)
from rag.ranking.model import PLAIN_FUSION, LinearRanker
from rag.ranking.parts import split_parts
from rag.ranking.places import Places
from rag.ranking.preview import about_the_document, sums_up_the_subject
from rag.ranking.reader import Reader, read_best
from rag.ranking.signals import AbstentionSignals
from rag.reading.text import content_terms

# A chunk ranked first by request scores this share above the best other (see `search`).
FIRST_MARGIN = 0.1
# How many of the earlier turn's chunks a follow-up looks through for one to take the counterpart of:
# as many as an answer can cite.
EARLIER_CANDIDATES = 3


@dataclass(frozen=True)
class RetrievalConfig:
    """Knobs measured by the evaluation harness; defaults are what won there."""

    candidates: int = 30  # depth of each list the ranker scores
    strip_common: bool = True
    common_share: float = 0.25
    synonyms: bool = True
    synonym_weight: float = 0.4
    # ... unless the question's own phrase never occurs in the corpus: then its synonyms are all there is.
    unseen_synonym_weight: float = 1.0
    guide_words: bool = True  # the embedder reads domain-vocabulary phrases in the corpus's own words
    counterparts: bool = True  # a follow-up that swaps an alternative leads with the counterpart
    split_parts: bool = True  # several-part questions are retrieved part by part
    # A question naming alternatives of several kinds gets a passage for each (`each_named_answered`).
    each_named: bool = True
    section_weight: float = 0.5  # BM25 weight of heading/context words relative to the quoted text
    k1: float = 1.2
    b: float = 0.75


@dataclass(frozen=True)
class Ranking:
    """What retrieval gives the answerer for one question."""

    retrieved: list[RetrievedChunk]
    parts: int  # how many parts the question was ranked in (1: one question)
    asked: Asked  # what it asks of the documents' structure
    signals: np.ndarray  # the abstention model's signals
    dense_text: str  # the question as the embedder read it


def interleave(rankings: Sequence[list[RetrievedChunk]], top_k: int) -> list[RetrievedChunk]:
    """The rankings merged rank by rank (the first of each, then the second of each, …), each chunk once."""
    merged: list[RetrievedChunk] = []
    seen: set[str] = set()
    for rank in range(top_k):
        for ranking in rankings:
            if rank < len(ranking) and ranking[rank].chunk.chunk_id not in seen:
                seen.add(ranking[rank].chunk.chunk_id)
                merged.append(ranking[rank])
    return merged[:top_k]


class HybridRetriever(BaseRetriever):
    """Dense (Chroma) + BM25 candidates, scored by the learned ranker."""

    def __init__(
        self,
        vector_store: ChromaVectorStore,
        chunks: list[Chunk],
        embed_model: BaseEmbedding,
        config: RetrievalConfig | None = None,
        top_k: int = 5,
        reader: Reader | None = None,
    ) -> None:
        super().__init__()
        self.config = config or RetrievalConfig()
        config = self.config
        self.vector_store = vector_store
        self.chunks = chunks
        self.by_id = {c.chunk_id: i for i, c in enumerate(chunks)}
        self.sources = frozenset(c.source for c in chunks)
        self.source_number = {source: n for n, source in enumerate(sorted(self.sources))}
        self.source_ids = np.asarray([self.source_number[c.source] for c in chunks], dtype=np.int64)
        self.embed_model = embed_model
        self.top_k = top_k
        self.bm25 = BM25Index(chunks, config.section_weight, config.k1, config.b)
        previews = {path: about_the_document(path) for path in dict.fromkeys(c.section for c in chunks)}
        self.previews = frozenset(i for i, c in enumerate(chunks) if previews[c.section])
        summaries = {path: sums_up_the_subject(path) for path in previews}
        self.summaries = frozenset(i for i, c in enumerate(chunks) if summaries[c.section] and i not in self.previews)
        self.common = (
            common_terms([c.plain_text for c in chunks], config.common_share) if config.strip_common else frozenset()
        )
        self.outline = Outline.of(chunks, self.common)
        self.synonyms: tuple[SynonymGroup, ...] = load_synonyms() if config.synonyms else ()
        groups = alternative_groups(chunks)
        self.slots = slot_vocabulary(chunks, [members for _, members in groups])
        self.counterparts = Counterparts(chunks, self.synonyms, groups)
        self.places = Places(chunks, self.bm25, self.outline, self.common, self.synonyms, groups, self.counterparts)
        self.members = self.places.members
        self.signals = AbstentionSignals(chunks, self.bm25, self.previews, self.common, self.synonyms)
        # Without weights for these features (a feature added, not yet fitted), the plain fusion ranks.
        self.ranker = LinearRanker.load() or LinearRanker(PLAIN_FUSION)
        self.facts = PassageFacts.of(chunks, self.outline.list_items)
        self.reader = reader
        self.shapes = shared_shape_model()
        self.dense = DenseSearch(
            vector_store,
            embed_model,
            chunks,
            self.by_id,
            self.common,
            self.synonyms,
            config.guide_words,
            config.strip_common,
        )

    # -- a question's one pass -----------------------------------------------------------------
    def rank(self, question: str, top_k: int, source: str | None = None, earlier: str | None = None) -> Ranking:
        """Rank `question` and read what the answerer needs of it. `earlier`, for a follow-up that
        swaps an alternative, is the earlier turn's question: its counterpart leads."""
        first = self.counterpart_of(earlier, question, source) if earlier else None
        retrieved, parts = self.search_parts(question, top_k, source, first)
        if self.reader is not None:
            retrieved = read_best(self.reader, question, retrieved)
        shape = self.shapes.shape_of(self.dense.typed_vector(question)) if self.shapes is not None else "fact"
        return Ranking(
            retrieved,
            parts,
            self.places.asked_of_structure(question, retrieved, shape),
            self.signals.of(question, retrieved),
            self.dense.query_text(question),
        )

    def counterpart_of(self, earlier: str, question: str, source: str | None = None) -> str | None:
        """The chunk id that stands where the earlier turn's best chunk stood, under the alternative
        the follow-up names ("and for juniors?"). The earlier turn's first few chunks are tried in
        order: its best may be a summary that stands under no alternative ("Real examples from …
        startups") while the next is the section it was about ("Startup Environment"), whose sibling
        ("Remote/Hybrid Work") the follow-up asks for."""
        if not self.config.counterparts:
            return None
        if self.config.split_parts and len(split_parts(earlier, self.members, self.synonyms)) > 1:
            return None  # several places at once: no one of them to take the counterpart of
        # (Its count of parts is not asked: a named alternative's passage counts as one, and that
        # passage, "Senior Level › Red Flags" for "red flags for a senior", is the one to swap.)
        found, _ = self.search_parts(earlier, EARLIER_CANDIDATES, source)
        for candidate in found:
            counterpart = self.counterparts.find(candidate.chunk, question)
            if counterpart is not None:
                return counterpart.chunk_id
        return None

    def search_parts(
        self, question: str, top_k: int, source: str | None = None, first: str | None = None
    ) -> tuple[list[RetrievedChunk], int]:
        """Retrieve each part of a several-part question on its own and interleave the rankings, so the
        best chunk of every part comes first; returns the ranking and the number of parts. `first`
        (a chunk id) is put first in a one-part ranking."""
        self.dense.forget()
        parts = split_parts(question, self.members, self.synonyms) if self.config.split_parts else [question]
        if len(parts) == 1:
            ranking = self.search(question, top_k, source, first)
            if self.config.each_named:
                return self.places.each_named_answered(question, ranking)
            return ranking, 1
        rankings = [self.search(part, top_k, source) for part in parts]
        merged = interleave(rankings, top_k)
        bests = {ranking[0].chunk.chunk_id for ranking in rankings if ranking}
        return merged, sum(1 for r in merged[: len(rankings)] if r.chunk.chunk_id in bests)

    def search(
        self, question: str, top_k: int, source: str | None = None, first: str | None = None
    ) -> list[RetrievedChunk]:
        """The `top_k` best chunks, best score first; each carries its dense cosine for abstention.
        With `source`, only chunks of that document (a corpus-relative path) compete. `first` (a chunk
        id: the counterpart a follow-up asks for) is ranked first, by a margin the answer's runners-up
        do not reach: the follow-up asked for that place and no other."""
        depth = max(self.config.candidates, top_k)
        dense = self.dense.ranking(question, depth, source)
        lexical = self.bm25_ranking(question, depth, source)
        cosine = dict(dense)
        indices, matrix = self.candidate_rows(question, dense, lexical)
        scores = dict(zip(indices, (float(s) for s in self.ranker.score(matrix)), strict=True))
        pinned = self.by_id.get(first) if first else None
        if pinned is not None and (source is None or self.chunks[pinned].source == source):
            best = max(scores.values(), default=0.0)
            scores[pinned] = best + FIRST_MARGIN * abs(best) + 1e-6
        order = sorted(scores, key=lambda i: -scores[i])[:top_k]
        return [RetrievedChunk(self.chunks[i], scores[i], cosine.get(i, 0.0)) for i in order]

    def candidate_rows(
        self, question: str, dense: list[tuple[int, float]], lexical: list[tuple[int, float]]
    ) -> tuple[list[int], np.ndarray]:
        """The candidates (places in `chunks`) of both searches and their feature rows."""
        cosine, bm25 = dict(dense), dict(lexical)
        indices = list(dict.fromkeys([i for i, _ in dense] + [i for i, _ in lexical]))
        bm25_rank = {i: rank for rank, (i, _) in enumerate(lexical)}
        candidates = [Candidate(i, cosine.get(i), bm25.get(i), bm25_rank.get(i)) for i in indices]
        named = [(group, member) for group, member, _ in self.places.named_rarely(question)]
        rows = feature_matrix(
            content_terms(question),
            candidates,
            self.chunks,
            self.facts,
            self.bm25.idf,
            previews=self.previews,
            summaries=self.summaries,
            asks_figure=asks_for_a_figure(question) or asks_for_a_percentage(question),
            asks_percentage=asks_for_a_percentage(question),
            heading_cosine=self.dense.heading_similarity(question, indices),
            other_place=[self.places.under_another(self.chunks[i], named) for i in indices] if named else (),
        )
        return indices, rows

    def query_terms(self, question: str) -> dict[str, float]:
        config = self.config
        return weighted_terms(
            question, self.synonyms, self.bm25.idf, config.synonym_weight, config.unseen_synonym_weight
        )

    def bm25_ranking(self, question: str, depth: int, source: str | None = None) -> list[tuple[int, float]]:
        scores = self.bm25.scores(self.query_terms(question))
        if source:
            scores[self.source_ids != self.source_number.get(source, -1)] = 0.0
        found = np.flatnonzero(scores > 0)  # in chunk order: equal scores keep it, here and below
        if len(found) > depth:
            # The `depth` best without sorting them all; of chunks level with the last place, the first.
            last = np.partition(scores[found], len(found) - depth)[len(found) - depth]
            above = found[scores[found] > last]
            found = np.sort(np.concatenate([above, found[scores[found] == last][: depth - len(above)]]))
        best = found[np.argsort(-scores[found], kind="stable")]
        return [(int(i), float(scores[i])) for i in best]

    # -- the llama-index interface -------------------------------------------------------------
    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [
            NodeWithScore(
                node=TextNode(
                    id_=r.chunk.chunk_id,
                    text=r.chunk.text,
                    metadata={"section": r.chunk.section_path, "source": r.chunk.source},
                ),
                score=r.score,
            )
            for r in self.search_parts(query_bundle.query_str, self.top_k)[0]
        ]
