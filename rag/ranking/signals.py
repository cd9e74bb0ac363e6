"""What the abstention model reads of a question and its ranking (rag/answering/abstaining.py,
in the order of its SIGNALS): how well the best passages match, and how much of the question they
cover, with the corpus's vocabulary, the topics only its preview promises and the roles it never pays
as signals to weigh, not as declines."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from rag.models import Chunk, RetrievedChunk
from rag.ranking.bm25 import BM25Index, chunk_terms
from rag.ranking.coverage import corpus_vocabulary, only_promised, promised_only, unknown_names
from rag.ranking.figures import FIGURE, asks_for_a_figure
from rag.ranking.lexicon import SynonymGroup, expand_terms
from rag.ranking.roles import unpaid_roles, unpaid_roles_asked
from rag.reading.text import content_terms

# How many of the best passages the signals look at.
SIGNAL_DEPTH = 3


class AbstentionSignals:
    """The corpus's vocabulary and what it only promises, read once per index version."""

    def __init__(
        self,
        chunks: Sequence[Chunk],
        bm25: BM25Index,
        previews: frozenset[int],
        common: frozenset[str],
        synonyms: tuple[SynonymGroup, ...],
    ) -> None:
        self.bm25 = bm25
        self.common = common
        self.synonyms = synonyms
        # Each heading path once, not once per chunk under it: the same words either way.
        headings = dict.fromkeys(" ".join((c.section_path, c.context)) for c in chunks)
        self.vocabulary = corpus_vocabulary(itertools.chain((c.plain_text for c in chunks), headings), synonyms)
        # The body's words from the BM25 postings (a chunk's text and headings), not tokenized again.
        in_body = np.ones(len(chunks), dtype=bool)
        in_body[list(previews)] = False
        delivered = {term for term, (docs, _) in bm25.postings.items() if in_body[docs].any()}
        self.promised = promised_only(delivered, (chunks[i].text for i in sorted(previews)), synonyms)
        self.unpaid = unpaid_roles(c.plain_text for c in chunks)

    def of(self, question: str, retrieved: Sequence[RetrievedChunk]) -> np.ndarray:
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
                max((r.reader for r in top if r.reader is not None), default=0.0),
            ],
            dtype=float,
        )
