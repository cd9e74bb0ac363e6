"""Metric functions on plain data, so each can be tested on hand-made cases with known answers.

Relevance follows the contract: a chunk is relevant when it contains an evidence string, compared
with whitespace collapsed and case folded. Binary nDCG credits each evidence string once (at the
first chunk that holds it), so two chunks with the same evidence never push it above 1.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from rag.reading.markup import plain_text


def normalize(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def evidence_found(chunk_text: str, evidence: Sequence[str]) -> set[int]:
    """Indexes of the evidence strings that the chunk contains."""
    haystack = normalize(chunk_text)
    return {i for i, e in enumerate(evidence) if normalize(e) and normalize(e) in haystack}


def first_ranks(chunks: Sequence[str], evidence: Sequence[str]) -> list[int | None]:
    """For each evidence string, the 1-based rank of the first chunk containing it (None: not retrieved)."""
    ranks: list[int | None] = [None] * len(evidence)
    for rank, text in enumerate(chunks, start=1):
        for i in evidence_found(text, evidence):
            if ranks[i] is None:
                ranks[i] = rank
    return ranks


def relevant_flags(chunks: Sequence[str], evidence: Sequence[str]) -> list[bool]:
    return [bool(evidence_found(text, evidence)) for text in chunks]


def hit_at(chunks: Sequence[str], evidence: Sequence[str], k: int, mode: str = "any") -> float:
    ranks = first_ranks(chunks[:k], evidence)
    if not evidence:
        return 0.0
    found = [r is not None for r in ranks]
    return float(all(found) if mode == "all" else any(found))


def chunks_within_words(chunks: Sequence[str], budget: int) -> int:
    """How many of the ranked chunks start within the first `budget` words of the ranking, read in
    order: the chunk that crosses the budget counts, the one after it does not."""
    read = 0
    for count, text in enumerate(chunks):
        if read >= budget:
            return count
        read += words(text)
    return len(chunks)


def hit_within_words(chunks: Sequence[str], evidence: Sequence[str], budget: int, mode: str = "any") -> float:
    """hit@k at an equal reading budget: k is however many chunks start within `budget` words, so a
    ranking of short chunks and one of long chunks are compared on what a reader sees, not on counts."""
    return hit_at(chunks, evidence, chunks_within_words(chunks, budget), mode)


def recall_at(chunks: Sequence[str], evidence: Sequence[str], k: int) -> float:
    if not evidence:
        return 0.0
    ranks = first_ranks(chunks[:k], evidence)
    return sum(r is not None for r in ranks) / len(evidence)


def precision_at(chunks: Sequence[str], evidence: Sequence[str], k: int) -> float:
    return sum(relevant_flags(chunks[:k], evidence)) / k if k else 0.0


def reciprocal_rank_at(chunks: Sequence[str], evidence: Sequence[str], k: int) -> float:
    for rank, relevant in enumerate(relevant_flags(chunks[:k], evidence), start=1):
        if relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at(chunks: Sequence[str], evidence: Sequence[str], k: int) -> float:
    """Binary nDCG: a chunk gains 1 when it brings evidence not already credited higher up, so
    repeated evidence earns nothing twice and at most `min(k, len(evidence))` chunks gain — never above 1."""
    if not evidence:
        return 0.0
    credited: set[int] = set()
    dcg = 0.0
    for rank, text in enumerate(chunks[:k], start=1):
        new = evidence_found(text, evidence) - credited
        if new:
            credited |= new
            dcg += 1.0 / math.log2(rank + 1)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(k, len(evidence)) + 1))
    return dcg / ideal if ideal else 0.0


def first_relevant_rank(chunks: Sequence[str], evidence: Sequence[str]) -> int | None:
    for rank, relevant in enumerate(relevant_flags(chunks, evidence), start=1):
        if relevant:
            return rank
    return None


# -- answers ---------------------------------------------------------------------------------------
MARKER = re.compile(r"\[(\d+)\]")


def facts_found(answer: str, facts: Sequence[str]) -> list[bool]:
    text = normalize(answer)
    return [normalize(f) in text for f in facts]


def citations_valid(answer: str, citations: Sequence[dict[str, object]], sources: dict[str, str]) -> bool:
    """Every quote is its source's exact text at its offsets, and every [n] refers to a citation. For a
    source with markup the quote is that text without its markup, and `source_quote` (when given) the
    text itself."""
    numbers = set()
    for c in citations:
        text = sources.get(str(c["source"]))
        start, end = int(c["start"]), int(c["end"])  # type: ignore[call-overload]
        if text is None:
            return False
        span = text[start:end]
        raw = c.get("source_quote")
        if (raw is not None and raw != span) or c["quote"] != plain_text(str(c["source"]), span):
            return False
        numbers.add(int(c["n"]))  # type: ignore[call-overload]
    return all(int(n) in numbers for n in MARKER.findall(answer))


def citation_supported(quote: str, evidence: Sequence[str]) -> bool:
    """The quote contains an evidence string, or lies inside one."""
    q = normalize(quote)
    return any(normalize(e) in q or (q and q in normalize(e)) for e in evidence)


def evidence_quoted(quotes: Sequence[str], evidence: Sequence[str]) -> list[bool]:
    """For each evidence string, whether a quote of the answer holds it (or lies inside it: a quote
    may be one sentence of a longer evidence string)."""
    return [any(citation_supported(q, [e]) for q in quotes) for e in evidence]


def words(text: str) -> int:
    return len(text.split())


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float:
    return percentile(values, 0.5)
