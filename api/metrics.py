"""`GET /metrics` in Prometheus text format, and the middleware that feeds it and writes the access log.

Per route: request counts and latency. Per question: time in each stage (embed, retrieve, answer),
answerable or abstained, the top-1 similarity. At scrape time: the abstention ratio and the index in
service (chunks, version) and the 👍/👎 ratings on record. Each app has its own registry, so several apps in one process (tests) never
share counts. With `PROMETHEUS_MULTIPROC_DIR` set (what `rag serve --workers N` does), every worker
writes its counts there and a scrape, whichever worker answers it, adds up all of them.
"""

from __future__ import annotations

import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.logging_setup import request_id_var
from rag.operations.timing import QueryTrace, traced

access_log = logging.getLogger("api.access")
log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
STAGE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
SCORE_BUCKETS = (0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8, 0.9, 1.0)
# A caller's X-Request-ID is kept only when it looks like an id, so logs cannot be forged through it.
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
UNMATCHED = "unmatched"  # one label for every unknown path, so scanners cannot blow up the series count


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Metrics:
    """The metric objects of one app and the registry a scrape reads."""

    def __init__(self, app: FastAPI) -> None:
        shared_dir = multiprocess_dir()
        # In multiprocess mode the values live in files, not in a registry: registering them anywhere
        # would only make a second app in the same process fail on duplicate names.
        own = None if shared_dir else CollectorRegistry()
        self.requests = Counter(
            "rag_http_requests", "HTTP requests by route and status", ["method", "route", "status"], registry=own
        )
        self.latency = Histogram(
            "rag_http_request_duration_seconds",
            "Time from request to the last byte of the response, by route",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=own,
        )
        self.stage_seconds = Histogram(
            "rag_stage_duration_seconds",
            "Time per stage of answering: embed (the question), retrieve (search and fusion), answer (compose)",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=own,
        )
        self.answers = Counter(
            "rag_answers", "Questions answered, by whether the guide covered them", ["answerable"], registry=own
        )
        self.cache_hits = Counter(
            "rag_answer_cache_hits",
            "Questions answered from the answer cache (also counted in rag_answers)",
            registry=own,
        )
        self.top_score = Histogram(
            "rag_top1_score",
            "Best dense (cosine) similarity between a question and the retrieved chunks",
            buckets=SCORE_BUCKETS,
            registry=own,
        )
        if shared_dir:
            self.registry = CollectorRegistry()
            MultiProcessCollector(self.registry, path=shared_dir)
            source: Callable[[], Iterable[Metric]] = MultiProcessCollector(None, path=shared_dir).collect
        else:
            assert own is not None
            self.registry = own
            source = self.answers.collect
        self.registry.register(AbstentionCollector(source))
        self.registry.register(IndexCollector(app))
        self.registry.register(FeedbackCollector(app))

    def observe(self, method: str, route: str, status: int, seconds: float, trace: QueryTrace) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)
        for name, spent in trace.stages.items():
            self.stage_seconds.labels(name).observe(spent)
        for outcome in trace.outcomes:
            self.answers.labels("true" if outcome.answerable else "false").inc()
            if outcome.cached:
                self.cache_hits.inc()
            if outcome.top_score is not None:
                self.top_score.observe(outcome.top_score)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class AbstentionCollector(Collector):
    """The share of questions answered with an abstention, over all answers counted so far."""

    def __init__(self, source: Callable[[], Iterable[Metric]]) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        counts = {"true": 0.0, "false": 0.0}
        for family in self.source():
            for sample in family.samples:
                if sample.name == "rag_answers_total":
                    key = sample.labels.get("answerable", "")
                    counts[key] = counts.get(key, 0.0) + sample.value
        total = counts["true"] + counts["false"]
        yield GaugeMetricFamily(
            "rag_abstention_ratio",
            "Share of answered questions where the guide did not cover the question",
            value=counts["false"] / total if total else 0.0,
        )


class IndexCollector(Collector):
    """The index the scraped worker serves: how many chunks, and which version (collection)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        service = getattr(self.app.state, "service", None)
        loaded = service.loaded_index if service is not None else None
        chunks = GaugeMetricFamily("rag_index_chunks", "Chunks in the index in service (0: no index loaded)")
        chunks.add_metric([], loaded.chunk_count if loaded else 0)
        yield chunks
        info = GaugeMetricFamily("rag_index_info", "The index version in service, as a label", labels=["version"])
        if loaded:
            info.add_metric([loaded.version], 1)
        yield info


class FeedbackCollector(Collector):
    """Ratings recorded so far, by rating and channel (`http`, `slack`). Read from the state store at
    scrape time: it is the one record every worker and the Slack bot write to, so the count is whole
    whichever worker is scraped, and it survives restarts."""

    RATINGS = ("up", "down")

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        store = getattr(self.app.state, "store", None)
        if store is None:
            return
        try:
            rows = store.rows("SELECT rating, source, COUNT(*) FROM feedback GROUP BY rating, source")
        except Exception as exc:  # a scrape still reports everything else
            log.warning("metrics: cannot count feedback: %s", exc)
            return
        counts = {(rating, "http"): 0 for rating in self.RATINGS}
        for rating, channel, count in rows:
            counts[(str(rating), str(channel))] = int(count)
        family = CounterMetricFamily(
            "rag_feedback", "Ratings of answers recorded, by rating and channel", labels=["rating", "channel"]
        )
        for (rating, channel), count in sorted(counts.items()):
            family.add_metric([rating, channel], count)
        yield family


def route_label(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


def request_id_of(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if REQUEST_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


class ObservabilityMiddleware:
    """Gives each request an id (echoed as X-Request-ID), opens the trace the library records stages
    into, and when the response has been sent counts it, times it and writes one access-log line."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        status = 500  # what the client gets if the app fails before starting a response

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            with traced() as trace:
                try:
                    await self.app(scope, receive, send_with_id)
                finally:
                    elapsed = time.perf_counter() - started
                    route = route_label(scope)
                    self.metrics.observe(scope["method"], route, status, elapsed, trace)
                    access_log.info(
                        "%s %s %s in %.1f ms",
                        scope["method"],
                        scope["path"],
                        status,
                        elapsed * 1000,
                        extra=access_fields(scope, route, status, elapsed, trace),
                    )
        finally:
            request_id_var.reset(token)


def access_fields(scope: Scope, route: str, status: int, elapsed: float, trace: QueryTrace) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "method": scope["method"],
        "path": scope["path"],
        "route": route,
        "status": status,
        "duration_ms": round(elapsed * 1000, 2),
    }
    if trace.stages:
        fields["stages_ms"] = {name: round(seconds * 1000, 2) for name, seconds in trace.stages.items()}
    if trace.outcomes:
        last = trace.outcomes[-1]
        fields["answerable"] = last.answerable
        fields["top_score"] = None if last.top_score is None else round(last.top_score, 4)
    return fields


def install_observability(app: FastAPI) -> None:
    """Add the metrics middleware and `GET /metrics` to `app` (one call in the app factory)."""
    metrics = Metrics(app)
    app.state.metrics = metrics
    app.add_middleware(ObservabilityMiddleware, metrics=metrics)

    def prometheus_metrics(request: Request) -> Response:
        return Response(request.app.state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    app.add_api_route(
        "/metrics", prometheus_metrics, methods=["GET"], summary="Prometheus metrics", response_class=Response
    )
