"""The answer cache: a question asked again of an unchanged index is answered without embedding,
searching or composing again. Small, in-process (one per worker) and safe to share between threads."""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, replace

from rag.models import Answer


@dataclass(frozen=True)
class AnswerKey:
    """Everything an extractive answer is a function of; two questions with equal keys get equal answers."""

    index_version: str
    resolved_question: str  # after follow-up resolution, so "And in Seattle?" after Austin is its own entry
    top_k: int
    answerer: str
    # The abstention threshold can be recalibrated in a running process (`rag eval --calibrate`).
    threshold: float | None = None
    source: str | None = None
    # For a rewritten follow-up, the earlier question: where it landed decides which chunk leads.
    earlier: str | None = None


class AnswerCache:
    """Least-recently-used answers of one index version; `max_entries=0` turns it off.

    Entries of an older index version are dropped as soon as a key of a newer one is seen, so an
    answer is never served from text that `rag ingest` has since replaced.
    """

    def __init__(self, max_entries: int) -> None:
        if max_entries < 0:
            raise ValueError(f"max_entries must be 0 (off) or more, got {max_entries}")
        self.max_entries = max_entries
        self._entries: OrderedDict[AnswerKey, Answer] = OrderedDict()
        self._version: str | None = None
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.max_entries > 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: AnswerKey, question: str) -> Answer | None:
        """The cached answer for `key`, reissued for this request: a fresh `query_id` (the query log and
        feedback are per request) and the question as this caller asked it."""
        if not self.enabled:
            return None
        with self._lock:
            self._follow(key.index_version)
            answer = self._entries.get(key)
            if answer is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
        return replace(answer, query_id=uuid.uuid4().hex, question=question)

    def put(self, key: AnswerKey, answer: Answer) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._follow(key.index_version)
            self._entries[key] = answer
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _follow(self, version: str) -> None:
        """Called with the lock held: a key of another index version empties the cache."""
        if version != self._version:
            self._entries.clear()
            self._version = version
