"""Where the time of one request goes (embed, retrieve, answer) and what came of it, for whoever watches.

The library only records into the trace of the current context; the API opens a trace per request
and turns it into metrics and log fields. `rag/` stays free of Prometheus and of HTTP: with no trace
open (the CLI, a benchmark) every hook here is a cheap no-op.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Outcome:
    """What one answered question came to: abstained or not, and how well the guide matched it."""

    query_id: str
    answerable: bool
    # The best dense (cosine) similarity among the retrieved chunks; None when nothing was retrieved.
    top_score: float | None
    cached: bool = False  # answered from the answer cache: nothing embedded, searched or composed


@dataclass
class QueryTrace:
    """Seconds spent per stage, exclusive of nested stages, and the outcomes of the questions answered."""

    stages: dict[str, float] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)
    # Open stages, innermost last, each with the seconds its nested stages took (subtracted from it).
    _open: list[list[float]] = field(default_factory=list, repr=False)

    @property
    def query_id(self) -> str | None:
        return self.outcomes[-1].query_id if self.outcomes else None


_current: ContextVar[QueryTrace | None] = ContextVar("rag_query_trace", default=None)


def current_trace() -> QueryTrace | None:
    return _current.get()


@contextmanager
def traced() -> Iterator[QueryTrace]:
    """Open a trace for the work done in this context (and in threads started from it)."""
    trace = QueryTrace()
    token = _current.set(trace)
    try:
        yield trace
    finally:
        _current.reset(token)


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Time the enclosed block as `name`; time spent in stages nested inside it is counted there instead."""
    trace = _current.get()
    if trace is None:
        yield
        return
    nested = [0.0]
    trace._open.append(nested)
    started = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - started
        trace._open.pop()
        trace.stages[name] = trace.stages.get(name, 0.0) + max(elapsed - nested[0], 0.0)
        if trace._open:
            trace._open[-1][0] += elapsed


def record_outcome(query_id: str, answerable: bool, top_score: float | None, cached: bool = False) -> None:
    trace = _current.get()
    if trace is not None:
        trace.outcomes.append(Outcome(query_id, answerable, top_score, cached))
