"""Cold start and memory: from starting `rag serve --workers N` to `/readyz` answering 200 with every
worker started (model and index loaded), and the memory each worker holds once ready and after it has
answered some questions.

    python -m evals.bench.coldstart [--repeats 3] [--workers 1,2] [--questions 30]

Needs a built index (`rag ingest`). Writes `evals/reports/bench/coldstart.{md,json}`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from evals.bench.machine import describe_machine
from evals.bench.report import REPORTS, write_report
from evals.bench.served import RagServe
from evals.bench.stats import fmt, table
from evals.bench.workload import golden_questions


@dataclass(frozen=True)
class Start:
    """One start of `rag serve`: how long until ready, and memory (MiB) by process once ready and serving."""

    workers: int
    seconds_to_first_ready: float
    seconds_to_all_ready: float
    ready_memory: dict[str, dict[str, float]]
    serving_memory: dict[str, dict[str, float]]

    def of_workers(self, key: str, ready: bool) -> list[float]:
        memory = self.ready_memory if ready else self.serving_memory
        return [figures[key] for name, figures in memory.items() if name.startswith("worker") and key in figures]


# Run in a fresh interpreter: where the start-up time of one worker goes (imports, model, index).
PHASES = """
import json, time
started = time.perf_counter()
import api.app
from rag.index.embedding import load_embed_model
from rag.service import QAService
from rag.settings import Settings
imported = time.perf_counter()
model = load_embed_model(Settings().embed_model)
loaded = time.perf_counter()
QAService(Settings(), embed_model=model).load()
ready = time.perf_counter()
print(json.dumps({"imports": imported - started, "model": loaded - imported, "index": ready - loaded}))
"""


def startup_phases() -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", PHASES], capture_output=True, text=True, check=True, timeout=300)
    return {k: float(v) for k, v in json.loads(out.stdout.strip().splitlines()[-1]).items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="starts per worker count")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--questions", type=int, default=30, help="questions answered before memory is read again")
    parser.add_argument("--report", type=Path, default=REPORTS)
    args = parser.parse_args(argv)

    machine = describe_machine()
    questions = golden_questions(args.questions)
    starts: list[Start] = []
    for workers in [int(w) for w in args.workers.split(",")]:
        for repeat in range(args.repeats):
            with RagServe(workers=workers) as served:
                ready = served.memory()
                with httpx.Client(base_url=served.url, timeout=60) as client:
                    for q in questions:
                        # A fresh connection each time, so that with several workers each gets its share.
                        client.post("/v1/query", json={"question": q}, headers={"Connection": "close"})
                start = Start(workers, served.seconds_to_first_ready, served.seconds_to_ready, ready, served.memory())
            print(
                f"workers={workers} #{repeat + 1}: ready in {start.seconds_to_all_ready:.2f} s; "
                f"RSS per worker {[round(x) for x in start.of_workers('rss_mib', ready=False)]} MiB",
                flush=True,
            )
            starts.append(start)
    phases = [startup_phases() for _ in range(args.repeats)]

    rows = []
    for workers in sorted({s.workers for s in starts}):
        mine = [s for s in starts if s.workers == workers]
        supervisor = [s.ready_memory["supervisor"]["rss_mib"] for s in mine if "supervisor" in s.ready_memory]
        rows.append(
            {
                "workers": workers,
                "starts": len(mine),
                "first_ready_s_p50": round(statistics.median(s.seconds_to_first_ready for s in mine), 2),
                "all_ready_s_p50": round(statistics.median(s.seconds_to_all_ready for s in mine), 2),
                "all_ready_s_max": round(max(s.seconds_to_all_ready for s in mine), 2),
                **{
                    f"worker_{kind}_{when}_mib": round(
                        statistics.median(x for s in mine for x in s.of_workers(f"{kind}_mib", when == "ready")), 1
                    )
                    for kind in ("rss", "pss")
                    for when in ("ready", "serving")
                },
                "supervisor_rss_mib": round(statistics.median(supervisor), 1) if supervisor else None,
            }
        )

    body = [
        f"Each worker count started {args.repeats} times (`rag serve` as a fresh process, JSON logs, the built "
        f"index in `index/`). Ready = process start until `/readyz` answers 200 and every worker has logged its "
        f"start-up as complete (model and index loaded); polled every 50 ms. Memory from `/proc/<pid>/status` "
        f"(RSS) and `/proc/<pid>/smaps_rollup` (PSS: shared pages divided among the processes sharing them, the "
        f"fair share of one worker), read once ready and again after {len(questions)} questions.",
        "",
        *table(
            [
                "workers",
                "starts",
                "first /readyz 200, p50 s",
                "all workers ready, p50 s",
                "max s",
                "RSS/worker ready MiB",
                "PSS/worker ready MiB",
                "RSS/worker serving MiB",
                "PSS/worker serving MiB",
                "supervisor RSS MiB",
            ],
            [
                (
                    r["workers"],
                    r["starts"],
                    fmt(r["first_ready_s_p50"], 2),
                    fmt(r["all_ready_s_p50"], 2),
                    fmt(r["all_ready_s_max"], 2),
                    fmt(r["worker_rss_ready_mib"], 0),
                    fmt(r["worker_pss_ready_mib"], 0),
                    fmt(r["worker_rss_serving_mib"], 0),
                    fmt(r["worker_pss_serving_mib"], 0),
                    fmt(r["supervisor_rss_mib"], 0) if r["supervisor_rss_mib"] is not None else "– (serves itself)",
                )
                for r in rows
            ],
        ),
        "",
        "With one worker uvicorn serves from the process it started in; with several, a supervisor process "
        "starts the workers (each loads its own model and index) and only watches them.",
        "",
        f"Where one worker's start-up goes (a fresh interpreter, {len(phases)} runs, median seconds):",
        "",
        *table(
            ["phase", "p50 s"],
            [
                (
                    "imports: the app, FastAPI, llama-index core, chromadb",
                    fmt(statistics.median(p["imports"] for p in phases), 2),
                ),
                (
                    "embedding model: importing torch and transformers, loading the packaged weights",
                    fmt(statistics.median(p["model"] for p in phases), 2),
                ),
                (
                    "index (chunks from Chroma, BM25, vocabularies)",
                    fmt(statistics.median(p["index"] for p in phases), 2),
                ),
            ],
        ),
    ]
    write_report(
        "coldstart",
        "Cold start and memory per worker",
        machine,
        body,
        {
            "repeats": args.repeats,
            "questions": len(questions),
            "rows": rows,
            "startup_phases_s": phases,
            "starts": [asdict(s) for s in starts],
        },
        args.report,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
