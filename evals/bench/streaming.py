"""Streaming against waiting, over HTTP to a server in its own process: time to the first byte and
to the first answer text of `/v1/query/stream` and of `/v1/chat/completions` with `stream: true`,
against the whole-answer latency of `/v1/query` for the same questions.

    python -m evals.bench.streaming [--questions 40] [--report evals/reports]

Needs a built index (`rag ingest`). Prints a table and writes `streaming.md` and `streaming.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from evals.dataset import load_dataset

GOLDEN = Path(__file__).resolve().parents[1] / "golden.jsonl"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server() -> Iterator[str]:
    """`uvicorn api.app:create_app` in a child process, one worker, until ready."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        # One client asking on purpose as fast as it can: the per-client rate limit would only get in the way.
        # Every route asks the same questions: with the answer cache on, all but the first would time a lookup.
        env={**os.environ, "RAG_LOG_LEVEL": "WARNING", "RAG_RATE_LIMIT_PER_MINUTE": "0", "RAG_ANSWER_CACHE_SIZE": "0"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None:
                raise SystemExit("the server exited before it was ready (is the index built? `rag ingest`)")
            time.sleep(0.2)
        else:
            raise SystemExit("the server was not ready within 120 s")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def plain_query(client: httpx.Client, question: str) -> dict[str, float]:
    started = time.perf_counter()
    response = client.post("/v1/query", json={"question": question})
    response.raise_for_status()
    return {"whole answer": time.perf_counter() - started}


def streamed(client: httpx.Client, path: str, body: dict[str, object], marker: bytes) -> dict[str, float]:
    """Times to the response headers, the first body byte, the first answer text (`marker`), the end."""
    times: dict[str, float] = {}
    started = time.perf_counter()
    seen = b""
    with client.stream("POST", path, json=body) as response:
        response.raise_for_status()
        times["headers"] = time.perf_counter() - started
        for chunk in response.iter_raw():
            if "first byte" not in times:
                times["first byte"] = time.perf_counter() - started
            if "first text" not in times:
                seen += chunk
                if marker in seen:
                    times["first text"] = time.perf_counter() - started
    times["end of stream"] = time.perf_counter() - started
    return times


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=40, help="how many golden-set questions to time")
    parser.add_argument("--report", type=Path, default=Path("evals/reports"))
    args = parser.parse_args(argv)

    questions = [item.question for item in load_dataset(GOLDEN) if not item.follows][: args.questions]
    modes: dict[str, Callable[[httpx.Client, str], dict[str, float]]] = {
        "/v1/query": plain_query,
        "/v1/query/stream": lambda c, q: streamed(c, "/v1/query/stream", {"question": q}, b"event: delta"),
        "/v1/chat/completions stream": lambda c, q: streamed(
            c,
            "/v1/chat/completions",
            {"model": "guide-rag", "stream": True, "messages": [{"role": "user", "content": q}]},
            b'"content": "',
        ),
    }
    samples: dict[str, dict[str, list[float]]] = {mode: {} for mode in modes}
    with server() as url, httpx.Client(base_url=url, timeout=60) as client:
        for question in questions[:3]:  # warm-up: first-call costs are not what is measured
            for run in modes.values():
                run(client, question)
        for i, question in enumerate(questions):
            order = list(modes)[i % len(modes) :] + list(modes)[: i % len(modes)]  # no mode always goes first
            for mode in order:
                for name, seconds in modes[mode](client, question).items():
                    samples[mode].setdefault(name, []).append(seconds * 1000)

    rows: list[dict[str, Any]] = []
    for mode, measures in samples.items():
        for name, values in measures.items():
            rows.append(
                {
                    "route": mode,
                    "measure": name,
                    "p50_ms": round(statistics.median(values), 1),
                    "p95_ms": round(percentile(values, 0.95), 1),
                    "n": len(values),
                }
            )
    baseline = next(r["p50_ms"] for r in rows if r["measure"] == "whole answer")
    whole = samples["/v1/query"]["whole answer"]
    for row in rows:
        row["p50_vs_whole_answer"] = round(row["p50_ms"] / baseline, 2)
        # The same question's times divided: steadier than dividing medians when the machine is busy.
        own = samples[row["route"]][row["measure"]]
        row["paired_ratio_p50"] = round(statistics.median(x / w for x, w in zip(own, whole)), 2)

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    machine = (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {load} at the end (other work on the machine inflates every figure alike)"
    )
    lines = [
        "# Streaming: time to first byte against the whole answer",
        "",
        f"{len(questions)} golden-set questions, each asked once per route in rotating order, after 3 warm-up "
        f"questions; one uvicorn worker in its own process on loopback; extractive answerer. Machine: {machine}.",
        "",
        "| route | measure | p50 ms | p95 ms | p50 ÷ /v1/query p50 | median of per-question ratios |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
        *(
            f"| {r['route']} | {r['measure']} | {r['p50_ms']} | {r['p95_ms']} | {r['p50_vs_whole_answer']} "
            f"| {r['paired_ratio_p50']} |"
            for r in rows
        ),
        "",
        "The answer is composed (and, from a generator, verified) before the first event is sent, so the first",
        "byte of a stream arrives when the whole answer is ready: streaming here is about showing the text",
        "progressively and stopping work for a client that leaves, not about an earlier first byte.",
        "",
    ]
    args.report.mkdir(parents=True, exist_ok=True)
    (args.report / "streaming.md").write_text("\n".join(lines), encoding="utf-8")
    (args.report / "streaming.json").write_text(
        json.dumps({"machine": machine, "questions": len(questions), "rows": rows}, indent=2) + "\n", encoding="utf-8"
    )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
