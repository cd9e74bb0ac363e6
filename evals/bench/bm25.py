"""BM25 at scale: the shipped scorer (one array operation per query term) against the per-posting
Python loop it replaced, on the same chunks and the same questions in one run.

No embeddings are needed, so the full 1,000-document corpus of `evals.bench.synth_corpus` is
measured, not extrapolated. `python -m evals.bench.bm25 [--documents 1000]`.
"""

from __future__ import annotations

import argparse
import math
import shutil
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from evals.bench.machine import describe_machine
from evals.bench.report import REPORTS, write_report
from evals.bench.synth_corpus import write_corpus
from evals.bench.workload import golden_questions
from rag.models import Chunk
from rag.ranking.retrieval import BM25Index, HybridRetriever
from rag.reading.chunking import chunk_documents
from rag.reading.documents import load_documents


class PostingLoopBM25:
    """The scorer as it was before (kept here as the baseline): a Python step per posting, a dict
    of scores, a full sort. Built from the shipped index's own postings, so both score alike."""

    def __init__(self, index: BM25Index) -> None:
        self.idf = index.idf
        self.postings = {
            term: list(zip(docs.tolist(), parts.tolist(), strict=True))
            for term, (docs, parts) in index.postings.items()
        }

    def ranking(self, weighted_terms: dict[str, float], depth: int) -> list[tuple[int, float]]:
        totals: dict[int, float] = defaultdict(float)
        for term, weight in weighted_terms.items():
            idf = self.idf.get(term)
            if idf is None:
                continue
            for doc, part in self.postings[term]:
                totals[doc] += weight * idf * part
        return sorted(totals.items(), key=lambda item: -item[1])[:depth]


def lexical_retriever(chunks: list[Chunk]) -> HybridRetriever:
    """The shipped retriever's lexical half: query terms, synonyms and BM25 (no model, no store)."""
    return HybridRetriever(None, chunks, None)  # type: ignore[arg-type]  # neither is touched by BM25


def time_ms(action: Any) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def measure(chunks: list[Chunk], questions: list[str], rounds: int) -> dict[str, Any]:
    started = time.perf_counter()
    retriever = lexical_retriever(chunks)
    build_s = time.perf_counter() - started
    baseline = PostingLoopBM25(retriever.bm25)
    depth = retriever.config.candidates
    shipped, loop, same = [], [], 0
    for question in questions:
        terms = retriever.query_terms(question)
        new = retriever.bm25_ranking(question, depth)
        old = baseline.ranking(terms, depth)
        same += [round(s, 9) for _, s in new] == [round(s, 9) for _, s in old]
        for _ in range(rounds):  # interleaved, so both see the same moments of a noisy machine
            shipped.append(time_ms(lambda q=question: retriever.bm25_ranking(q, depth)))
            loop.append(time_ms(lambda q=question: baseline.ranking(retriever.query_terms(q), depth)))
    p50_new, p50_old = statistics.median(shipped), statistics.median(loop)
    return {
        "chunks": len(chunks),
        "build_s": round(build_s, 2),
        "arrays_p50_ms": round(p50_new, 3),
        "loop_p50_ms": round(p50_old, 3),
        "arrays_p95_ms": round(statistics.quantiles(shipped, n=20)[-1], 3),
        "loop_p95_ms": round(statistics.quantiles(loop, n=20)[-1], 3),
        "speedup_p50": round(p50_old / p50_new, 1) if p50_new else math.inf,
        "same_scores": f"{same}/{len(questions)}",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3, help="timings of each question per scorer")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--report", type=Path, default=REPORTS)
    args = parser.parse_args(argv)
    machine = describe_machine()
    questions = golden_questions(args.questions)
    work = Path(tempfile.mkdtemp(prefix="bench-bm25-"))
    rows: dict[str, dict[str, Any]] = {}
    try:
        for documents in sorted({1, args.documents}):
            write_corpus(work / str(documents), documents, args.seed)
            chunks = chunk_documents(load_documents(work / str(documents)))
            rows[f"{documents} document{'s' if documents > 1 else ''}"] = measure(chunks, questions, args.rounds)
            print(documents, rows[next(reversed(rows))], flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    body = [
        f"{len(questions)} golden-set questions, each ranked {args.rounds} times by each scorer, interleaved, at "
        'the service\'s depth (30). "arrays" is the shipped `BM25Index` (a posting list is a pair of NumPy arrays: '
        'one vector operation per query term, a partial sort); "loop" is the scorer it replaced (a Python step per '
        'posting, a dict, a full sort), rebuilt here from the same postings. "same scores": questions whose '
        "ranked scores agree to 9 decimals. Both times include making the question's weighted terms.",
        "",
        "| corpus | chunks | index build s | arrays p50 ms | loop p50 ms | arrays p95 ms | loop p95 ms | loop ÷ arrays (p50) | same scores |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *(
            f"| {name} | {r['chunks']:,} | {r['build_s']} | {r['arrays_p50_ms']} | {r['loop_p50_ms']} | "
            f"{r['arrays_p95_ms']} | {r['loop_p95_ms']} | {r['speedup_p50']} | {r['same_scores']} |"
            for name, r in rows.items()
        ),
    ]
    write_report(
        "bm25",
        f"BM25 at {args.documents:,} documents: arrays against a loop",
        machine,
        body,
        {"rows": rows},
        args.report,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
