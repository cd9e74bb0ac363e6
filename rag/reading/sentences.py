"""Sentence boundaries as character spans, for quoting the part of a chunk that holds the fact."""

from __future__ import annotations

import re

# A sentence ends at . ! ? or ; followed by space and a capital, digit or quote; "vs." and "e.g." do not end one.
BOUNDARY = re.compile(r"(?<=[.!?;])\s+(?=[\"'(A-Z0-9$])")
NOT_AN_END = re.compile(r"(?:\bvs|\be\.g|\bi\.e|\betc|\bMr|\bDr|\bSt)\.$", re.IGNORECASE)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Spans `(start, end)` of the sentences of `text`, whitespace trimmed; together they cover all words."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in BOUNDARY.finditer(text):
        if NOT_AN_END.search(text[start : match.start()]):
            continue
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    trimmed = []
    for s, e in spans:
        segment = text[s:e]
        lead = len(segment) - len(segment.lstrip())
        body = segment.strip()
        if body:
            trimmed.append((s + lead, s + lead + len(body)))
    return trimmed
