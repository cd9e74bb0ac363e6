"""Throughput with concurrent clients: `rag serve --workers 1` and `--workers 2`, each under the same
load of `/v1/query` (and `/v1/retrieve`) requests from `wrk` (or a Python asyncio + httpx client when
wrk is not installed): requests per second, p50/p95 latency, and every error counted.

    python -m evals.bench.throughput [--seconds 8] [--segments 3] [--connections 8] [--workers 1,2]
                                     [--torch-threads 0,1] [--client wrk|python] [--cache]

The answer cache is off by default here (`RAG_ANSWER_CACHE_SIZE=0`): every request embeds, searches and
composes, which is the work that has to scale. `--cache` measures the default configuration instead, where
the rotating golden questions are all answered from the cache after their first round.
Needs a built index (`rag ingest`). Writes `evals/reports/bench/throughput.{md,json}`.
"""

from __future__ import annotations

import argparse
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from evals.bench.load import LoadResult, merged, run_load, wrk_available
from evals.bench.machine import describe_machine
from evals.bench.report import REPORTS, write_report
from evals.bench.served import RagServe
from evals.bench.stats import fmt, table, verdict
from evals.bench.workload import golden_questions

ROUTES = {
    "/v1/query": lambda q: {"question": q},
    "/v1/retrieve": lambda q: {"query": q},
}


@dataclass(frozen=True)
class Setup:
    workers: int
    torch_threads: int  # 0: torch's default (one per core)

    @property
    def label(self) -> str:
        threads = f", OMP_NUM_THREADS={self.torch_threads}" if self.torch_threads else ""
        return f"{self.workers} worker{'s' if self.workers > 1 else ''}{threads}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="seconds of one measured segment")
    parser.add_argument("--segments", type=int, default=3, help="segments per route and setup, interleaved")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before the first segment")
    parser.add_argument("--connections", type=int, default=8, help="requests kept in flight")
    parser.add_argument("--workers", default="1,2", help="worker counts to compare")
    parser.add_argument(
        "--torch-threads", default="0", help="OMP_NUM_THREADS values to compare per worker (0: torch's default)"
    )
    parser.add_argument("--routes", default="/v1/query,/v1/retrieve")
    parser.add_argument("--client", choices=["wrk", "python"], default="wrk" if wrk_available() else "python")
    parser.add_argument("--cache", action="store_true", help="leave the answer cache on (the default setting)")
    parser.add_argument("--report", type=Path, default=REPORTS)
    args = parser.parse_args(argv)

    machine = describe_machine()
    questions = golden_questions()
    routes = [r for r in args.routes.split(",") if r]
    setups = [Setup(int(w), int(t)) for t in args.torch_threads.split(",") for w in args.workers.split(",")]
    segments: dict[tuple[Setup, str], list[LoadResult]] = {(s, r): [] for s in setups for r in routes}
    with ExitStack() as stack:
        # Every setup serves at once (idle ones cost no CPU), so that their segments can take turns: a change in
        # the machine's load then falls on all of them alike.
        served: dict[Setup, RagServe] = {}
        for setup in setups:
            print(f"starting {setup.label} ...", flush=True)
            env = {} if args.cache else {"RAG_ANSWER_CACHE_SIZE": "0"}
            if setup.torch_threads:
                env["OMP_NUM_THREADS"] = str(setup.torch_threads)
            served[setup] = stack.enter_context(RagServe(workers=setup.workers, env=env))
        for route in routes:
            bodies = [ROUTES[route](q) for q in questions]
            for setup in setups:
                run_load(args.client, served[setup].url, route, bodies, args.connections, args.warmup)
            for segment in range(args.segments):
                turn = setups[segment % len(setups) :] + setups[: segment % len(setups)]
                for setup in turn:
                    result = run_load(args.client, served[setup].url, route, bodies, args.connections, args.seconds)
                    segments[(setup, route)].append(result)
                    print(f"  {setup.label} {route}: {result.rps:.1f} req/s, p95 {result.p95_ms:.0f} ms", flush=True)

    results = [(setup, route, merged(found)) for (setup, route), found in segments.items()]
    base = {route: next(r for s, rt, r in results if rt == route) for route in routes}
    rows = [
        {
            "setup": setup.label,
            "workers": setup.workers,
            "torch_threads": setup.torch_threads,
            "route": route,
            **r.as_dict(),
            "rps_vs_first": round(r.rps / base[route].rps, 2),
        }
        for setup, route, r in results
    ]
    errors = sum(r.error_count for _, _, r in results)
    client = results[0][2].client if results else args.client
    body = [
        f"{args.connections} connections kept busy by `{client}` on the same machine as the servers (it takes CPU "
        f"from them too). Every setup serves at once and the measured segments take turns: per route, "
        f"{args.warmup:g} s of warm-up each, then {args.segments} segments of {args.seconds:g} s per setup in rotating "
        f"order; counts add up over the segments, each latency percentile is the median of the segments'. Request "
        f"bodies rotate through the {len(questions)} golden-set questions that stand alone. `rag serve` runs as "
        f"deployed (JSON logs at INFO, query log in SQLite WAL), with the rate limit off and the answer cache "
        + ("on (default size: after the first round every `/v1/query` is a cache hit)." if args.cache else "off.")
        + " OMP_NUM_THREADS sets torch's intra-op threads per worker (default: one per core).",
        "",
        *table(
            ["setup", "route", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "req/s ÷ first setup"],
            [
                (
                    r["setup"],
                    r["route"],
                    r["requests"],
                    fmt(r["rps"]),
                    fmt(r["p50_ms"]),
                    fmt(r["p95_ms"]),
                    fmt(r["p99_ms"]),
                    r["error_count"],
                    r["rps_vs_first"],
                )
                for r in rows
            ],
            "llrrrrrrr",
        ),
        "",
        f"Errors (connect, read, write, timeout, non-2xx status) over every run: {errors} — zero errors "
        f"{verdict(errors == 0)}.",
    ]
    write_report(
        "throughput",
        "Throughput with concurrent clients, one worker against two",
        machine,
        body,
        {
            "client": client,
            "connections": args.connections,
            "segment_seconds": args.seconds,
            "segments": args.segments,
            "cache": args.cache,
            "torch_threads": args.torch_threads,
            "rows": rows,
            "errors": errors,
        },
        args.report,
    )
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
