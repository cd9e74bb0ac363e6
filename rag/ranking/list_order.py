"""Near-tied items of one list keep the list's order. When several bullets of the list the best chunk
belongs to score within a few percent of it ("what red flags should we watch for?" against "Red
Flags to Avoid"), the embedder's small differences between them say less than the author's order
does: a list leads with what its author thought mattered most, and that is where a reader of the
guide would look first (measured in evals/reports/ablation.md)."""

from __future__ import annotations

from collections.abc import Sequence

from rag.models import Chunk


def in_reading_order(fused: dict[int, float], chunks: Sequence[Chunk], ratio: float) -> None:
    """Re-deal the scores of the bullets in the best chunk's list that reach `ratio` of its score, so
    that they rank in the order they stand in the guide; every other score is left as it was."""
    if not fused:
        return
    top = max(fused, key=fused.__getitem__)
    best = chunks[top]
    if best.kind != "bullet" or fused[top] <= 0.0:  # a share of a score at or below zero is no floor
        return
    floor = ratio * fused[top]
    items = [
        i
        for i in fused
        if chunks[i].kind == "bullet"
        and chunks[i].section == best.section
        and chunks[i].source == best.source
        and fused[i] >= floor
    ]
    scores = sorted((fused[i] for i in items), reverse=True)
    for score, i in zip(scores, sorted(items, key=lambda i: chunks[i].start), strict=True):
        fused[i] = score
