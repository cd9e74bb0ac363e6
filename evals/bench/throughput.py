"""Throughput with concurrent clients: `rag serve --workers 1` and `--workers 2`, each under the same
load of `/v1/query` (and `/v1/retrieve`) requests from `wrk` (or a Python asyncio + httpx client when
wrk is not installed): requests per second, p50/p95 latency, and every error counted.

    python -m evals.bench.throughput [--seconds 20] [--connections 8] [--workers 1,2] [--client wrk|python]
                                     [--cache] [--torch-threads 0]

The answer cache is off by default here (`RAG_ANSWER_CACHE_SIZE=0`): every request embeds, searches and
composes, which is the work that has to scale. `--cache` measures the default configuration instead, where
the rotating golden questions are all answered from the cache after their first round.
Needs a built index (`rag ingest`). Writes `evals/reports/bench/throughput.{md,json}`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from evals.bench.load import LoadResult, run_load, wrk_available
from evals.bench.machine import describe_machine
from evals.bench.report import REPORTS, write_report
from evals.bench.served import RagServe
from evals.bench.stats import fmt, table, verdict
from evals.bench.workload import golden_questions

ROUTES = {
    "/v1/query": lambda q: {"question": q},
    "/v1/retrieve": lambda q: {"query": q},
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per route and worker count")
    parser.add_argument("--warmup", type=float, default=4.0, help="seconds of load before each measurement")
    parser.add_argument("--connections", type=int, default=8, help="requests kept in flight")
    parser.add_argument("--workers", default="1,2", help="worker counts to compare")
    parser.add_argument("--routes", default="/v1/query,/v1/retrieve")
    parser.add_argument("--client", choices=["wrk", "python"], default="wrk" if wrk_available() else "python")
    parser.add_argument("--cache", action="store_true", help="leave the answer cache on (the default setting)")
    parser.add_argument(
        "--torch-threads", type=int, default=0, help="OMP_NUM_THREADS for each worker (0: torch's default)"
    )
    parser.add_argument("--report", type=Path, default=REPORTS)
    args = parser.parse_args(argv)

    machine = describe_machine()
    questions = golden_questions()
    routes = [r for r in args.routes.split(",") if r]
    env = {} if args.cache else {"RAG_ANSWER_CACHE_SIZE": "0"}
    if args.torch_threads:
        env["OMP_NUM_THREADS"] = str(args.torch_threads)
    results: list[tuple[int, str, LoadResult]] = []
    for workers in [int(w) for w in args.workers.split(",")]:
        print(f"rag serve --workers {workers} ...", flush=True)
        with RagServe(workers=workers, env=env) as served:
            for route in routes:
                bodies = [ROUTES[route](q) for q in questions]
                run_load(args.client, served.url, route, bodies, args.connections, args.warmup)
                result = run_load(args.client, served.url, route, bodies, args.connections, args.seconds)
                print(f"  {route}: {result.rps:.1f} req/s, p95 {result.p95_ms:.0f} ms, {result.error_count} errors")
                results.append((workers, route, result))

    base = {route: next(r for w, rt, r in results if rt == route) for route in routes}
    rows = [
        {"workers": w, "route": route, **r.as_dict(), "rps_vs_first": round(r.rps / base[route].rps, 2)}
        for w, route, r in results
    ]
    errors = sum(r.error_count for _, _, r in results)
    client = results[0][2].client if results else args.client
    body = [
        f"{args.connections} connections kept busy for {args.seconds:g} s per route and worker count, after "
        f"{args.warmup:g} s of the same load, by `{client}` on the same machine as the server (it takes CPU "
        f"from the server too). Request bodies rotate through the {len(questions)} golden-set questions that "
        f"stand alone. `rag serve` runs as deployed (JSON logs at INFO, query log in SQLite WAL), with the rate "
        f"limit off and the answer cache "
        + ("on (default size: after the first round every `/v1/query` is a cache hit)." if args.cache else "off.")
        + (f" Each worker ran with OMP_NUM_THREADS={args.torch_threads}." if args.torch_threads else ""),
        "",
        *table(
            ["workers", "route", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "req/s ÷ 1 worker"],
            [
                (
                    r["workers"],
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
            "seconds": args.seconds,
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
