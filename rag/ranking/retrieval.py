"""Where a question is ranked: a dense search (Chroma) and BM25 over the same chunks each give their
candidates, every candidate gets its feature row (rag/ranking/features.py) and one learned function
scores them (rag/ranking/model.py). Written as a llama-index retriever so it composes with llama-index
tooling. The fused score with hand-set adjustments it replaced stays as `learned=False`, to measure
against; the rules that remain (parts, superlatives, follow-up counterparts) and those retired (each
a switch of `RetrievalConfig`) act around the scoring."""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from llama_index.core.vector_stores.types import MetadataFilter, MetadataFilters, VectorStoreQuery
from llama_index.vector_stores.chroma import ChromaVectorStore

from rag.answering.shapes import SECTION_CUE, Asked, Outline, asks_about_a_section, is_plural
from rag.models import Chunk, RetrievedChunk
from rag.operations.timing import stage
from rag.ranking.counterpart import Counterparts
from rag.ranking.coverage import corpus_vocabulary, only_promised, promised_only, unknown_names
from rag.ranking.experience import levels_in, with_level_named
from rag.ranking.features import Candidate, PassageFacts, feature_matrix
from rag.ranking.figures import FIGURE, asks_for_a_figure, asks_for_a_percentage
from rag.ranking.followup import alternative_groups, row_label, slot_vocabulary
from rag.ranking.lexicon import (
    SynonymGroup,
    common_terms,
    expand_terms,
    in_guide_words,
    load_synonyms,
    strip_common_words,
)
from rag.ranking.list_order import in_reading_order
from rag.ranking.model import LinearRanker
from rag.ranking.parts import Members, split_parts
from rag.ranking.preview import about_the_document, sums_up_the_subject
from rag.ranking.roles import unpaid_roles, unpaid_roles_asked
from rag.ranking.set_aside import set_aside_phrases, without_set_aside
from rag.ranking.superlative import KIND_ASKED_FOR, direction, extreme_row, without_kind_asked_for
from rag.reading.text import content_terms, raw_words

# A word that names a constraint of the question is used by at most this share of passages.
RARE_SHARE = 0.1
# How many of the best passages the abstention signals look at.
SIGNAL_DEPTH = 3
# Question embeddings kept for searches of the same text (see `query_vector`).
QUERY_VECTORS_KEPT = 64
# A chunk ranked first by request scores this share above the best other (see `search`).
FIRST_MARGIN = 0.1


@dataclass(frozen=True)
class RetrievalConfig:
    """Knobs measured by the evaluation harness; defaults are what won there."""

    candidates: int = 30  # depth of each list before fusion
    # "linear": cosine + bm25_weight * BM25 / best BM25 (scores keep their margins);
    # "rrf": weighted reciprocal-rank fusion (ranks only). Linear won on the golden set.
    fusion: str = "linear"
    rrf_k: int = 60
    dense_weight: float = 1.0
    bm25_weight: float = 0.25
    strip_common: bool = True
    common_share: float = 0.25
    synonyms: bool = True
    synonym_weight: float = 0.4
    # ... unless the question's own phrase never occurs in the guide: then its synonyms are all there is.
    unseen_synonym_weight: float = 1.0
    guide_words: bool = True  # the embedder reads domain-vocabulary phrases in the guide's own words
    counterparts: bool = True  # a follow-up that swaps an alternative leads with the counterpart
    # A question that names one alternative (a level, a city) is answered from under it: a best chunk
    # that stands under another alternative gives way to its counterpart under the named one. Off:
    # retired in issue 17, no gain on the unread sets of either corpus (evals/reports/ablation-corpora).
    named_alternatives: bool = False
    split_parts: bool = True  # several-part questions are retrieved part by part
    # "Which metro pays the most?": when the best chunk is a table row, the row at the extreme of the
    # figure the question compares is ranked first (rag/ranking/superlative.py).
    superlatives: bool = True
    # "Besides location, …": the set-aside phrase is not searched for; "4 yrs experience" is searched
    # for with "Mid-Level" (rag/ranking/experience.py). Off: retired in issue 17, written from golden
    # questions and no gain on the unread sets of either corpus.
    set_asides: bool = False
    levels_for_years: bool = False
    section_weight: float = 0.5  # BM25 weight of heading/context words relative to the quoted text
    # The fused score of a chunk in a section about the document itself (a preview, a table of
    # contents: rag/ranking/preview.py) is scaled by this. Tuned on the golden set's tune split (0.6-0.9;
    # 0.0 drops them, and a question about the guide itself could no longer find its preview).
    preview_weight: float = 0.7
    # ... and of a chunk in a summary ("Key Highlights") by this, unless the question asks for a figure
    # (rag/ranking/preview.py). On the tune split 0.9 to 0.7 tie (hit@1 .779 -> .818), 0.95 gains less and 0.5
    # loses; 1.0 turns it off.
    summary_weight: float = 0.9
    # Bullets of the best chunk's list that score at least this share of it rank in the guide's order
    # (rag/ranking/list_order.py); 1.0 turns it off. 0.9, the answerer's sibling ratio, beat 0.95 on tune.
    # Off since issue 17: one question gained on the guide's `external` set, one lost on 18F's tune split.
    list_order_ratio: float = 1.0
    # Questions about what the guide does not cover are declined before an answer is composed: a name
    # it never mentions ("Miami", "401(k)": rag/ranking/coverage.py), a topic it only promises ("legal"), or
    # the pay of a role it names but never pays ("data scientist": rag/ranking/roles.py).
    # Off: each is one signal of the calibrated abstention (rag/answering/abstaining.py), weighed with the others.
    decline_unknown_names: bool = False
    decline_promised_only: bool = False
    decline_unpaid_roles: bool = False
    # What a question names that its best passage does not answer gets a search of its own
    # ("a mid-level engineer in Seattle": the level's range and Seattle's row). Off since issue 17: a
    # gain on the guide's `external` and `shapes_blind2`, a loss on `fresh2` and on 18F's tune split.
    constraint_parts: bool = False
    # One learned ranking function (rag/ranking/) in place of the hand-set adjustments of the fused
    # score (preview and summary step-downs, fusion weights). Off: those adjustments, to measure against.
    learned: bool = True
    k1: float = 1.2
    b: float = 0.75


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


def chunk_terms(chunk: Chunk) -> set[str]:
    """The words a chunk answers for: its headings, context and text."""
    return set(content_terms(" ".join((chunk.section_path, chunk.context, chunk.plain_text))))


@dataclass
class BM25Index:
    """Okapi BM25 with two fields (quoted text, heading context) and weighted query terms. Each term's
    posting list is a pair of arrays (chunks, saturated term frequency), so a query costs one vector
    operation per query term, not one Python step per posting: at 1,000 documents (180,000 chunks) a
    loop over postings took 83 ms a search, the arrays take 3 (evals/reports/bench/bm25.md)."""

    chunks: list[Chunk]
    config: RetrievalConfig
    postings: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    idf: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        tf_docs: list[dict[str, float]] = []
        heading_terms: dict[str, list[str]] = {}  # a heading path recurs in every chunk under it
        for chunk in self.chunks:
            tf: dict[str, float] = defaultdict(float)
            for term in content_terms(chunk.plain_text):  # link targets and markup are no words of it
                tf[term] += 1.0
            heading = " ".join([chunk.section_path, chunk.context])
            if heading not in heading_terms:
                heading_terms[heading] = content_terms(heading)
            for term in heading_terms[heading]:
                tf[term] += self.config.section_weight
            tf_docs.append(tf)
        lengths = [sum(tf.values()) for tf in tf_docs]
        average = sum(lengths) / max(len(lengths), 1) or 1.0
        df: Counter[str] = Counter()
        for tf in tf_docs:
            df.update(tf.keys())
        n = len(self.chunks)
        self.idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        postings: dict[str, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
        k1, b = self.config.k1, self.config.b
        for i, tf in enumerate(tf_docs):
            norm = k1 * (1 - b + b * lengths[i] / average)
            for term, freq in tf.items():
                docs, parts = postings[term]
                docs.append(i)
                parts.append(freq * (k1 + 1) / (freq + norm))
        self.postings = {
            term: (np.asarray(docs, dtype=np.int64), np.asarray(parts, dtype=np.float64))
            for term, (docs, parts) in postings.items()
        }

    def scores(self, weighted_terms: dict[str, float]) -> np.ndarray:
        """The score of every chunk (0 where no query term occurs)."""
        totals = np.zeros(len(self.chunks), dtype=np.float64)
        for term, weight in weighted_terms.items():
            posting = self.postings.get(term)
            if posting is not None:
                docs, parts = posting  # each chunk at most once per term, so `+=` on the index is exact
                totals[docs] += (weight * self.idf[term]) * parts
        return totals


class HybridRetriever(BaseRetriever):
    """Dense (Chroma) + BM25, fused with weighted reciprocal-rank fusion."""

    def __init__(
        self,
        vector_store: ChromaVectorStore,
        chunks: list[Chunk],
        embed_model: BaseEmbedding,
        config: RetrievalConfig | None = None,
        top_k: int = 5,
    ) -> None:
        super().__init__()
        self.config = config or RetrievalConfig()
        self.vector_store = vector_store
        self.chunks = chunks
        self.by_id = {c.chunk_id: i for i, c in enumerate(chunks)}
        self.sources = frozenset(c.source for c in chunks)
        self.source_number = {source: n for n, source in enumerate(sorted(self.sources))}
        self.source_ids = np.asarray([self.source_number[c.source] for c in chunks], dtype=np.int64)
        self.embed_model = embed_model
        self.top_k = top_k
        self.bm25 = BM25Index(chunks, self.config)
        previews = {path: about_the_document(path) for path in dict.fromkeys(c.section for c in chunks)}
        self.previews = frozenset(i for i, c in enumerate(chunks) if previews[c.section])
        summaries = {path: sums_up_the_subject(path) for path in previews}
        self.summaries = frozenset(i for i, c in enumerate(chunks) if summaries[c.section] and i not in self.previews)
        self.common = (
            common_terms([c.plain_text for c in chunks], self.config.common_share)
            if self.config.strip_common
            else frozenset()
        )
        self.outline = Outline.of(chunks, self.common)
        # Each heading path of each document, with the words of its own (last) heading and, for a
        # table's section, of the table's header; and the chunks under it (their places in `chunks`).
        self.heading_words: dict[tuple[str, tuple[str, ...]], set[str]] = {}
        under: dict[tuple[str, tuple[str, ...]], list[int]] = defaultdict(list)
        for i, c in enumerate(chunks):
            for depth in range(1, len(c.section) + 1):
                key = (c.source, c.section[:depth])
                words = self.heading_words.setdefault(key, set(content_terms(c.section[depth - 1])))
                if depth == len(c.section) and c.kind == "table_row" and c.context:
                    words.update(content_terms(c.context))
                under[key].append(i)
        self.under_heading = {key: np.asarray(places, dtype=np.int64) for key, places in under.items()}
        # Each word to the headings that hold it: a question is matched against those headings only.
        self.headings_with: dict[str, list[tuple[str, tuple[str, ...]]]] = defaultdict(list)
        for key, words in self.heading_words.items():
            for word in words:
                self.headings_with[word].append(key)
        self.synonyms: tuple[SynonymGroup, ...] = load_synonyms() if self.config.synonyms else ()
        groups = alternative_groups(chunks)
        self.groups = groups
        self.slots = slot_vocabulary(chunks, [members for _, members in groups])
        self.members = Members.from_chunks(chunks, [members for _, members in groups])
        self.counterparts = Counterparts(chunks, self.synonyms, groups)
        # Each heading path once, not once per chunk under it: the same words either way.
        headings = dict.fromkeys(" ".join((c.section_path, c.context)) for c in chunks)
        self.vocabulary = corpus_vocabulary(itertools.chain((c.plain_text for c in chunks), headings), self.synonyms)
        self.levels = levels_in(itertools.chain(headings, (c.plain_text for c in chunks)))
        # The body's words from the BM25 postings (a chunk's text and headings), not tokenized again.
        in_body = np.ones(len(chunks), dtype=bool)
        in_body[list(self.previews)] = False
        delivered = {term for term, (docs, _) in self.bm25.postings.items() if in_body[docs].any()}
        self.promised = promised_only(delivered, (chunks[i].text for i in sorted(self.previews)), self.synonyms)
        self.unpaid = unpaid_roles(c.plain_text for c in chunks)
        self.ranker = LinearRanker.load() if self.config.learned else None
        self.facts = PassageFacts.of(chunks, self.outline.list_items)
        self.vectors: dict[str, list[float]] = {}
        self.heading_vectors: dict[str, np.ndarray] = {}

    def uncovered(self, question: str) -> list[str]:
        """What `question` asks about that the guide does not cover (empty when it may be answered)."""
        config = self.config
        return (
            (unknown_names(question, self.vocabulary) if config.decline_unknown_names else [])
            or (only_promised(question, self.promised) if config.decline_promised_only else [])
            or (unpaid_roles_asked(question, self.unpaid) if config.decline_unpaid_roles else [])
        )

    def abstention_signals(self, question: str, retrieved: Sequence[RetrievedChunk]) -> np.ndarray:
        """The signals of rag/answering/abstaining.py for `question` and its ranking, in the order of SIGNALS.
        A word of the question counts as covered by passages that hold it or one of its domain
        synonyms; a word the corpus never uses weighs as much as its rarest one."""
        terms = [t for t in dict.fromkeys(content_terms(question)) if t not in self.common] or content_terms(question)
        top = list(retrieved[:SIGNAL_DEPTH])
        held = set().union(*(chunk_terms(r.chunk) for r in top)) if top else set()
        best_held = chunk_terms(top[0].chunk) if top else set()
        idf = self.bm25.idf
        highest = max(idf.values(), default=1.0) or 1.0
        weight = {t: idf.get(t, highest) for t in terms}
        related = {t: {t, *expand_terms([t], self.synonyms)} for t in terms}
        total = sum(weight.values()) or 1.0

        def covered(found: set[str]) -> float:
            return sum(weight[t] for t in terms if related[t] & found) / total

        known = [t for t in terms if t in idf]
        missing = [idf[t] for t in known if not related[t] & held]
        unseen = [t for t in terms if t not in idf and t not in self.vocabulary]
        scores = [r.score for r in retrieved]
        stated = " ".join(r.chunk.plain_text for r in top)
        return np.asarray(
            [
                max((r.dense_score for r in retrieved), default=0.0),
                scores[0] if scores else 0.0,
                scores[0] - scores[1] if len(scores) > 1 else 0.0,
                covered(held),
                max(missing, default=0.0) / highest,
                len(unseen) / len(terms) if terms else 0.0,
                bool(unseen),
                covered(best_held),
                bool(known) and not related[max(known, key=idf.__getitem__)] & held,
                bool(unknown_names(question, self.vocabulary)),
                bool(only_promised(question, self.promised)),
                bool(unpaid_roles_asked(question, self.unpaid)),
                asks_for_a_figure(question) and not FIGURE.search(stated),
            ],
            dtype=float,
        )

    def asked_of_structure(self, question: str, retrieved: Sequence[RetrievedChunk] = ()) -> Asked:
        """What `question` asks of the documents' structure (for the answer's shape): a part as a
        whole, and the lists whose headings it names, best named first."""
        if self.config.set_asides:
            question = without_set_aside(question)  # "beyond the job platforms" names no list to give
        rows = frozenset(
            member
            for group, member, _ in self.members.named(question, self.synonyms)
            if self.groups[group][0][0] == "table"
        )
        rare = frozenset(self.rare_terms(question))
        return Asked(self.outline, self.section_asked(question, retrieved), self.headings_named(question), rows, rare)

    def rare_terms(self, question: str) -> set[str]:
        return {term for term in content_terms(question) if self.rare(term)}

    def headings_named(self, question: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """The headings `question` names plainly, most words shared first: by a word few passages use,
        together with a second word of the heading or the plural the question asks for ("culture-fit
        questions", "responsibilities"; not "the human's responsibility" in passing). A heading gives
        way to one below it named by a word of its own ("ML fundamentals interview questions": the
        fundamentals), not to one named by the same words ("interview questions": all of them)."""
        terms = set(content_terms(question)) - self.common
        plurals = {t for w in raw_words(question) if is_plural(w) for t in content_terms(w)}
        named = []
        candidates = dict.fromkeys(key for term in terms for key in self.headings_with.get(term, ()))
        for source, path in candidates:
            shared = terms & self.heading_words[(source, path)]
            if (len(shared) >= 2 or shared & plurals) and any(self.rare(t, (source, path)) for t in shared):
                named.append((shared, source, path))

        def below(inner: tuple[set[str], str, tuple[str, ...]], outer: tuple[set[str], str, tuple[str, ...]]) -> bool:
            """`inner` lies under `outer` and is named by a word of its own."""
            return (
                inner[1] == outer[1]
                and len(inner[2]) > len(outer[2])
                and inner[2][: len(outer[2])] == outer[2]
                and bool(inner[0] - outer[0])
            )

        specific = [(len(h[0]), h[1], h[2]) for h in named if not any(below(other, h) for other in named)]
        order = {key: i for i, key in enumerate(self.heading_words)}
        return tuple((source, path) for _, source, path in sorted(specific, key=lambda h: (-h[0], order[(h[1], h[2])])))

    def section_asked(
        self, question: str, retrieved: Sequence[RetrievedChunk] = ()
    ) -> tuple[str, tuple[str, ...]] | None:
        """The part of a document a question asks about as a whole ("what should we look for in a
        senior engineer?": the senior level's section): an alternative it names (a level, through the
        domain's synonyms too), else the heading that shares most of its rarer words; None for a
        question about one fact."""
        if not asks_about_a_section(question):
            return None
        # The cue's own words ("what does the guide say") name no part of the guide.
        question = SECTION_CUE.sub(" ", question)
        for group, member, _ in sorted(self.named_rarely(question), key=lambda hit: hit[2]):
            key = self.groups[group][0]
            if key[0] == "heading":
                source, *path = key[1:]
                return str(source), (*(str(p) for p in path), member)
        # Else the heading sharing most of the question's words that are rare outside it, among those a passage found for
        # the question stands under (a heading no passage was found under is named in passing), the
        # one holding the best-ranked passage first.
        terms = set(content_terms(question)) - self.common
        ranks: dict[tuple[str, tuple[str, ...]], int] = {}
        for rank, found in enumerate(retrieved):
            for depth in range(1, len(found.chunk.section) + 1):
                ranks.setdefault((found.chunk.source, found.chunk.section[:depth]), rank)
        candidates = [
            (sum(self.rare(t, key) for t in terms & self.heading_words[key]), -rank, key) for key, rank in ranks.items()
        ]
        shared, _, chosen = max(candidates, default=(0, 0, ("", ())))
        return chosen if shared else None

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

    # -- the project's interface ---------------------------------------------------------------
    def dense_query_text(self, question: str) -> str:
        """What the embedder reads: the question in the guide's words, without corpus-common words."""
        if self.config.guide_words:
            question = in_guide_words(question, self.synonyms)
        return strip_common_words(question, self.common) if self.config.strip_common else question

    def query_vector(self, question: str) -> list[float]:
        """The question's embedding. Kept while one question is searched (see `search_parts`): it is
        searched several times (a superlative's second pass, the ranker's heading similarity) and
        embedding is most of a search's cost."""
        text = self.dense_query_text(question)
        vector = self.vectors.get(text)
        if vector is None:
            with stage("embed"):
                vector = self.embed_model.get_query_embedding(text)
            if len(self.vectors) >= QUERY_VECTORS_KEPT:
                self.vectors.pop(next(iter(self.vectors)))
            self.vectors[text] = vector
        return vector

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

    def dense_ranking(self, question: str, depth: int, source: str | None = None) -> list[tuple[int, float]]:
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

    def extreme_row_id(self, question: str, best: Chunk, set_aside: Sequence[str] = ()) -> str | None:
        """For a superlative question whose best chunk is a table row, the id of the row its table
        holds at the extreme ("pays the most": the highest salary). Rows the question names are the
        only candidates (one named row is simply the answer, not a superlative over the table); rows
        named in what it sets aside ("besides San Francisco") are none."""
        if best.kind != "table_row" or not direction(question):
            return None
        counterparts = self.counterparts
        group, table = counterparts.table(best)
        if group is not None:
            named = counterparts.named_in(counterparts.terms(without_kind_asked_for(question)), group)
            if len(named) == 1:
                return None
            aside = counterparts.named_in(counterparts.terms(" ".join(set_aside)), group)
            table = [
                c
                for c in table
                if (member := counterparts.place(c, group)) not in aside and (not named or member in named)
            ]
        row = extreme_row(question, table)
        return row.chunk_id if row else None

    def query_terms(self, question: str) -> dict[str, float]:
        """BM25 query terms and weights: the question's own, and the other phrases of every domain
        synonym group it touches — at reduced weight, or at full weight when the question's phrase
        never occurs in the guide ("seed-stage" for "startup"): then the synonyms are all there is."""
        terms = content_terms(question)
        weights: dict[str, float] = {}
        for term in terms:
            weights[term] = weights.get(term, 0.0) + 1.0
        for group in self.synonyms:
            phrase = group.matched_in(terms)
            if phrase is None:
                continue
            unseen = any(term not in self.bm25.idf for term in phrase)
            weight = self.config.unseen_synonym_weight if unseen else self.config.synonym_weight
            for term in expand_terms(list(phrase), (group,)):
                if term not in weights or weights[term] < weight:
                    weights[term] = weight
        return weights

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

    def fuse(self, dense: list[tuple[int, float]], lexical: list[tuple[int, float]]) -> dict[int, float]:
        config = self.config
        fused: dict[int, float] = defaultdict(float)
        if config.fusion == "rrf":
            for weight, ranking in ((config.dense_weight, dense), (config.bm25_weight, lexical)):
                for rank, (index, _) in enumerate(ranking):
                    fused[index] += weight / (config.rrf_k + rank + 1)
            return fused
        cosine = dict(dense)
        # A chunk only BM25 found gets the weakest cosine of the dense list: below every dense hit.
        floor = min(cosine.values(), default=0.0)
        best_lexical = max((score for _, score in lexical), default=0.0) or 1.0
        lexical_score = dict(lexical)
        for index in set(cosine) | set(lexical_score):
            fused[index] = config.dense_weight * cosine.get(index, floor) + config.bm25_weight * (
                lexical_score.get(index, 0.0) / best_lexical
            )
        return fused

    def searched_question(self, question: str) -> str:
        """What is searched for: without what the question sets aside, with the level its years name."""
        if self.config.set_asides:
            question = without_set_aside(question)
        if self.config.levels_for_years:
            question = with_level_named(question, self.levels)
        return question

    def search_parts(
        self, question: str, top_k: int, source: str | None = None, first: str | None = None
    ) -> tuple[list[RetrievedChunk], int]:
        """Retrieve each part of a several-part question on its own and interleave the rankings, so the
        best chunk of every part comes first; returns the ranking and the number of parts. `first`
        (a chunk id) is put first in a one-part ranking."""
        asked = question
        self.vectors = {}  # embeddings are kept for one question, not across them (that is the answer cache's job)
        question = self.searched_question(question)
        parts = split_parts(question, self.members, self.synonyms) if self.config.split_parts else [question]
        if len(parts) == 1:
            ranking = self.search(question, top_k, source, first)
            if first is None and ranking and self.config.superlatives:
                # Once per question, not per part: "Austin or Denver: which pays most?" is answered
                # from both rows, not from the best-paid row of the whole table.
                extreme = self.extreme_row_id(question, ranking[0].chunk, set_aside_phrases(asked))
                if extreme is not None and extreme != ranking[0].chunk.chunk_id:
                    ranking = self.search(question, top_k, source, extreme)
            extra, answered = (
                self.constraint_rankings(question, ranking, top_k, source) if self.config.constraint_parts else ([], 0)
            )
            if not extra:
                return ranking, 1
            if not answered and len(extra) == 1 and first is None:
                # The best passage answers nothing the question names, and one passage stands under
                # what it names ("key responsibilities"): that one leads, the rest follow.
                return interleave([extra[0], ranking], top_k), 1
            # The best of each constraint right after the best passage; the ranking goes on as it was.
            return interleave([[ranking[0], *(found[0] for found in extra)], ranking, *extra], top_k), 1 + len(extra)
        rankings = [self.search(part, top_k, source) for part in parts]
        if self.config.constraint_parts:
            # Each part's constraints too ("a senior engineer in Austin: what band, and how long?").
            for part, ranking in zip(parts, list(rankings)):
                rankings += self.constraint_rankings(part, ranking, top_k, source)[0]
        merged = interleave(rankings, top_k)
        bests = {ranking[0].chunk.chunk_id for ranking in rankings if ranking}
        return merged, sum(1 for r in merged[: len(rankings)] if r.chunk.chunk_id in bests)

    def constraint_rankings(
        self, question: str, ranking: list[RetrievedChunk], top_k: int, source: str | None
    ) -> tuple[list[list[RetrievedChunk]], int]:
        """Rankings for what the question names that its best passage does not answer: "a mid-level
        engineer in Seattle" is answered by the mid-level's range, and Seattle, a row of another
        table, gets its own search (without the words of what is already answered). A part is kept
        only when its best passage stands under what it names: each constraint the guide answers in
        a place of its own gets its passage, and nothing is combined that the guide does not state."""
        if not ranking or asks_about_a_section(question):
            return [], 0
        best_terms = chunk_terms(ranking[0].chunk)
        named: dict[tuple[int, str], list[tuple[int, int]]] = {}
        for group, member, span in self.named_rarely(question):
            named.setdefault((group, member), []).append(span)
        answered = [key for key in named if self.member_terms(key) & best_terms]
        extra = []
        for key in named:
            if key in answered:
                continue
            part = question
            for start, end in sorted((span for other in answered for span in named[other]), reverse=True):
                part = part[:start] + part[end:]
            found = self.search(" ".join(part.split()), top_k, source)
            lead = found[0].chunk if found else None
            if lead is not None and lead.chunk_id != ranking[0].chunk.chunk_id and self.answers_for(lead, key):
                extra.append(found)
        return extra, len(answered)

    def named_rarely(self, question: str) -> list[tuple[int, str, tuple[int, int]]]:
        """The alternatives `question` names in their own words, by a word few passages use:
        "Seattle", "mid-level", not "AI engineer" (every heading) or "hire" (a synonym of sourcing, in
        a hiring guide)."""
        found = []
        # "Which city pays least?": the word after which/what names the kind asked for, not a member
        # ("city" is no "New York City"); blanked in place, so spans still index `question`.
        kinds_blanked = KIND_ASKED_FOR.sub(lambda m: " " * len(m.group()), question)
        for group, member, (start, end) in self.members.named(kinds_blanked, self.synonyms):
            own = set(content_terms(question[start:end])) & self.member_terms((group, member))
            if any(self.rare(term) for term in own):
                found.append((group, member, (start, end)))
        return found

    def rare(self, term: str, heading: tuple[str, tuple[str, ...]] | None = None) -> bool:
        """Used by at most a tenth of the passages (their text or headings); with `heading`, of the
        passages outside it ("interview" is all over "Interview Questions" and rare elsewhere)."""
        posting = self.bm25.postings.get(term)
        if posting is None:
            return False
        users = len(posting[0])
        if heading is not None and heading in self.under_heading:
            users -= int(np.isin(posting[0], self.under_heading[heading], assume_unique=True).sum())
        return users <= RARE_SHARE * len(self.chunks)

    def answers_for(self, chunk: Chunk, key: tuple[int, str]) -> bool:
        """`chunk` is under the alternative `key` names (below its heading, or its table row), or
        names it in its own text ("Senior Level (5+ years): $160,000 …" in a list of pay by level)."""
        group, member = key
        if self.member_terms(key) & set(content_terms(chunk.plain_text)):
            return True
        kind, source, *where = self.groups[group][0]
        if chunk.source != source:
            return False
        if kind == "table":
            return chunk.kind == "table_row" and chunk.section_path == where[0] and row_label(chunk) == member
        return chunk.section[: len(where) + 1] == (*where, member)

    def member_terms(self, key: tuple[int, str]) -> set[str]:
        group, member = key
        return set(self.groups[group][1].get(member, ()))

    def candidate_rows(
        self, question: str, dense: list[tuple[int, float]], lexical: list[tuple[int, float]]
    ) -> tuple[list[int], np.ndarray]:
        """The candidates (places in `chunks`) of both searches and their feature rows."""
        cosine, bm25 = dict(dense), dict(lexical)
        indices = list(dict.fromkeys([i for i, _ in dense] + [i for i, _ in lexical]))
        bm25_rank = {i: rank for rank, (i, _) in enumerate(lexical)}
        candidates = [Candidate(i, cosine.get(i), bm25.get(i), bm25_rank.get(i)) for i in indices]
        named = [(group, member) for group, member, _ in self.named_rarely(question)]
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
            heading_cosine=self.heading_similarity(question, indices),
            other_place=[self.under_another(self.chunks[i], named) for i in indices] if named else (),
        )
        return indices, rows

    def under_another(self, chunk: Chunk, named: Sequence[tuple[int, str]]) -> bool:
        """Whether `chunk` stands under an alternative of a kind the question names, and answers for
        none it names ("mid-level" asked: the senior level's red flags)."""
        if any(self.answers_for(chunk, key) for key in named):
            return False
        held = self.counterparts.groups_of(chunk)
        return any(group in held for group, _ in named)

    def learned_scores(
        self, question: str, dense: list[tuple[int, float]], lexical: list[tuple[int, float]], find_counterpart: bool
    ) -> dict[int, float]:
        assert self.ranker is not None
        indices, matrix = self.candidate_rows(question, dense, lexical)
        scores = dict(zip(indices, (float(s) for s in self.ranker.score(matrix)), strict=True))
        self.structural_rules(question, scores, find_counterpart)
        return scores

    def hand_set_scores(
        self, question: str, dense: list[tuple[int, float]], lexical: list[tuple[int, float]], find_counterpart: bool
    ) -> dict[int, float]:
        """The fused score with the hand-set adjustments the learned ranker replaces (kept to measure
        it against: `RetrievalConfig(learned=False)`)."""
        fused = self.fuse(dense, lexical)
        stepped_down = [(self.previews, self.config.preview_weight)]
        if self.config.summary_weight < 1.0 and not asks_for_a_figure(question):
            stepped_down.append((self.summaries, self.config.summary_weight))
        for indices, weight in stepped_down:
            for i in indices.intersection(fused):  # a step down, whatever the sign of the score
                fused[i] -= (1.0 - weight) * abs(fused[i])
        self.structural_rules(question, fused, find_counterpart)
        return fused

    def structural_rules(self, question: str, fused: dict[int, float], find_counterpart: bool) -> None:
        """The two rules that stay after any scoring, because they act on the documents' structure
        rather than weigh a signal: near-tied items of one list keep the list's order, and a question
        that names one alternative (a level) is answered from under it (measured on and off in the
        ablation over both corpora)."""
        if self.config.list_order_ratio < 1.0:
            in_reading_order(fused, self.chunks, self.config.list_order_ratio)
        if find_counterpart and fused and self.config.named_alternatives:
            best_found = self.chunks[max(fused, key=lambda i: fused[i])]
            counterpart = self.counterparts.find(best_found, question)
            pinned = self.by_id.get(counterpart.chunk_id) if counterpart else None
            if pinned is not None:
                best = max(fused.values())
                fused[pinned] = best + FIRST_MARGIN * abs(best) + 1e-6

    def search(
        self, question: str, top_k: int, source: str | None = None, first: str | None = None
    ) -> list[RetrievedChunk]:
        """The `top_k` best chunks, fused score first; each carries its dense cosine for abstention.
        With `source`, only chunks of that document (a corpus-relative path) compete. `first` (a chunk
        id: the counterpart a follow-up asks for) is ranked first, by a margin the answer's runners-up
        do not reach: the follow-up asked for that place and no other. Without it, when the best chunk
        stands under an alternative other than the one the question names ("red flags for mid-level"
        finding the seniors'), its counterpart under the named one is ranked first the same way."""
        depth = max(self.config.candidates, top_k)
        dense = self.dense_ranking(question, depth, source)
        lexical = self.bm25_ranking(question, depth, source)
        cosine = dict(dense)
        if self.ranker is not None:
            fused = self.learned_scores(question, dense, lexical, first is None)
        else:
            fused = self.hand_set_scores(question, dense, lexical, first is None)
        pinned = self.by_id.get(first) if first else None
        if pinned is not None and (source is None or self.chunks[pinned].source == source):
            best = max(fused.values(), default=0.0)
            fused[pinned] = best + FIRST_MARGIN * abs(best) + 1e-6
        order = sorted(fused, key=lambda i: -fused[i])[:top_k]
        return [RetrievedChunk(self.chunks[i], fused[i], cosine.get(i, 0.0)) for i in order]
