"""Scale: the guide as one document among many (a synthetic corpus from `evals.bench.synth_corpus`, near-
duplicates of its sections with other figures and words). In one run:

* ingest throughput (chunks/s) against the raw encoding throughput of the same texts with the same model
  (a seeded sample, encoded half before and half after the ingest);
* re-ingest: once unchanged, once after rewording 1 % of the documents; what was embedded against what changed;
* query latency at N documents against the guide alone (`QAService.retrieve` / `ask`, answer cache off,
  questions alternating between the two indexes);
* the golden set's quality (`evals.harness.run_harness`) on the guide alone, among the N documents, and among
  them with a source filter on the guide, plus how often the guide's own chunk is the one found.

    python -m evals.bench.scale [--documents 20] [--questions 40] [--no-quality] [--latency-documents 1000]

Embedding is what limits the size on a small machine (the full 1,000 documents take hours to embed on 2 busy
cores). `--latency-documents N` adds a latency-only index of N documents: the chunks the measured index holds
keep their real vectors and the other chunks borrow a real vector plus a little noise, so the chunk count, the
texts (BM25) and the vector store's size are those of N documents; answer quality is not measured there.

Everything is written to a temporary folder (removed afterwards unless --keep). Writes
`evals/reports/bench/scale.{md,json}` (or `scale-<N>.{md,json}` with --name).
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.vector_stores.types import VectorStoreQuery

from evals import metrics as m
from evals.bench.machine import describe_machine
from evals.bench.report import REPORTS, write_report
from evals.bench.stats import Timing, fmt, paired_ratio, table, verdict
from evals.bench.synth_corpus import GUIDE, edit_corpus, write_corpus
from evals.bench.workload import golden_questions
from evals.dataset import DEFAULT_DATASET
from evals.harness import PRIMARY, Outcome, run_harness
from rag.index.embedding import load_embed_model
from rag.index.ingest import IngestReport, ingest
from rag.index.store import ChunkStore, connect, where
from rag.models import Answer, RetrievedChunk
from rag.reading.chunking import chunk_documents
from rag.reading.documents import load_documents
from rag.service import QAService
from rag.settings import Settings

TARGET_INGEST_RATIO = 0.8
TARGET_QUERY_RATIO = 1.5
FULL_SIZE = 1000


class ScopedService(QAService):
    """A `QAService` whose questions are limited to `scope` (a source path) when it is set: how the
    harness, which knows nothing of sources, is run with the source filter."""

    scope: str | None = None

    def retrieve(
        self, query: str, top_k: int | None = None, source: str | None = None, history: Sequence[str] = ()
    ) -> list[RetrievedChunk]:
        return super().retrieve(query, top_k, source or self.scope, history)

    def ask(
        self, question: str, top_k: int | None = None, history: Sequence[str] = (), source: str | None = None
    ) -> Answer:
        return super().ask(question, top_k, history, source or self.scope)


def bench_settings(root: Path, corpus: Path) -> Settings:
    """An embedded Chroma store of its own; the answer cache off, so every question does the work."""
    values: dict[str, object] = {
        "RAG_CORPUS_DIR": corpus,
        "RAG_INDEX_DIR": root / "index",
        "RAG_STATE_PATH": root / "state.sqlite3",
        "RAG_CHROMA_HOST": None,
        "RAG_ANSWER_CACHE_SIZE": 0,
        "RAG_LLM": "extractive",
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def timed_ingest(settings: Settings, embed_model: BaseEmbedding) -> tuple[IngestReport, float, dict[str, float]]:
    """The ingest, its seconds, and the seconds of each of its stages (reading/chunking, embedding, writing)."""
    marks: list[tuple[str, float]] = [("reading and comparing", time.perf_counter())]
    report = ingest(settings, embed_model, on_stage=lambda name: marks.append((name, time.perf_counter())))
    marks.append(("end", time.perf_counter()))
    stages = {name: marks[i + 1][1] - at for i, (name, at) in enumerate(marks[:-1])}
    return report, marks[-1][1] - marks[0][1], stages


def contiguous_sample(texts: list[str], size: int, seed: int, run: int = 256) -> list[str]:
    """Runs of `run` consecutive texts from random places: batches of the same make-up as the ingest's,
    which embeds the chunks in document order (neighbours have similar lengths, so little padding)."""
    if size >= len(texts):
        return list(texts)
    rng = random.Random(seed)
    starts = sorted(rng.sample(range(0, len(texts) - run + 1, run), max(1, size // run)))
    return [text for start in starts for text in texts[start : start + run]]


def time_breakdown(services: list[tuple[str, QAService]], questions: list[str]) -> dict[str, dict[str, float]]:
    """Median milliseconds of each part of a search, per index, each part timed on its own at the service's
    depth: the question's embedding, the vector search (Chroma) and BM25."""
    found: dict[str, dict[str, float]] = {}
    for name, service in services:
        retriever = service.index().retriever
        depth = retriever.config.candidates
        parts: dict[str, list[float]] = {"embed the question": [], "vector search (Chroma)": [], "BM25": []}
        for q in questions:
            started = time.perf_counter()
            vector = retriever.embed_model.get_query_embedding(retriever.dense.query_text(q))
            embedded = time.perf_counter()
            retriever.vector_store.query(VectorStoreQuery(query_embedding=vector, similarity_top_k=depth))
            searched = time.perf_counter()
            retriever.bm25_ranking(q, depth)
            scored = time.perf_counter()
            parts["embed the question"].append((embedded - started) * 1000)
            parts["vector search (Chroma)"].append((searched - embedded) * 1000)
            parts["BM25"].append((scored - searched) * 1000)
        found[name] = {part: round(statistics.median(values), 2) for part, values in parts.items()}
    return found


def encode_seconds(embed_model: BaseEmbedding, texts: list[str]) -> float:
    started = time.perf_counter()
    embed_model.get_text_embedding_batch(texts)
    return time.perf_counter() - started


def quality(outcome: Outcome, source_of: dict[str, str], guide: str) -> dict[str, float | None]:
    """The harness's summary, plus the same hit rates counting only the guide's own chunks (a near-duplicate
    elsewhere may hold an evidence string too) and how often the top chunk and the citations are the guide's."""
    summary = outcome.summaries["all"][PRIMARY]
    results = outcome.results[PRIMARY]
    scored = [r for r in results if r.scored_for_retrieval]
    strict: dict[int, list[float]] = {1: [], 5: []}
    top_is_guide = []
    for r in scored:
        texts = [h.text if source_of.get(h.chunk_id) == guide else "" for h in r.run.hits]
        for k in strict:
            strict[k].append(m.hit_at(texts, r.item.evidence, k, r.item.evidence_mode))
        if r.run.hits:
            top_is_guide.append(float(source_of.get(r.run.hits[0].chunk_id) == guide))
    cited = [c.source == guide for r in results if r.run.answer for c in r.run.answer.citations]
    return {
        "hit@1": summary["hit@1"],
        "hit@5": summary["hit@5"],
        "mrr@10": summary["mrr@10"],
        "guide_hit@1": statistics.mean(strict[1]) if strict[1] else None,
        "guide_hit@5": statistics.mean(strict[5]) if strict[5] else None,
        "top1_from_guide": statistics.mean(top_is_guide) if top_is_guide else None,
        "citations_from_guide": statistics.mean(cited) if cited else None,
        "fact_recall": summary.get("fact_recall"),
        "false_abstention": summary.get("false_abstention"),
        "abstain_recall": summary.get("abstain_recall"),
    }


BORROWED_NOISE = 0.02


def borrowed_vector_index(root: Path, documents: int, seed: int, measured: Settings) -> tuple[Settings, dict[str, Any]]:
    """An index of `documents` synthetic documents (the same seed: the measured corpus's documents come first)
    built without the model: chunks the measured index holds keep their vectors, the others borrow one."""
    import numpy as np

    corpus = root / "corpus"
    write_corpus(corpus, documents, seed)
    chunks = chunk_documents(load_documents(corpus))
    source = ChunkStore(connect(measured), where(measured))
    stored = source.collection(source.require_active().collection)
    known = set(source.stored_chunks(stored))
    real = source.embeddings_of(stored, [c.chunk_id for c in chunks if c.chunk_id in known])
    pool = np.asarray(list(real.values()), dtype=np.float32)
    rng = np.random.default_rng(seed)
    settings = bench_settings(root, corpus)
    store = ChunkStore(connect(settings), where(settings))
    collection = store.new_collection()
    batch = 2048
    for i in range(0, len(chunks), batch):
        part = chunks[i : i + batch]
        vectors: dict[str, list[float]] = {}
        for c in part:
            if c.chunk_id in real:
                vectors[c.chunk_id] = real[c.chunk_id]
                continue
            vector = pool[rng.integers(len(pool))] + rng.normal(0.0, BORROWED_NOISE, pool.shape[1])
            vectors[c.chunk_id] = (vector / np.linalg.norm(vector)).tolist()
        store.write(collection, part, vectors)
    store.activate(collection, None, "borrowed vectors (latency only)")
    return settings, {"chunks": len(chunks), "real_vectors": len(real), "borrowed_vectors": len(chunks) - len(real)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--documents", type=int, default=20, help=f"documents in all, the guide included (full: {FULL_SIZE})"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--encode-sample", type=int, default=1000, help="texts encoded for the raw throughput")
    parser.add_argument("--edit", type=float, default=0.01, help="share of the documents reworded for the re-ingest")
    parser.add_argument("--questions", type=int, default=40, help="golden-set questions timed on each index")
    parser.add_argument("--no-quality", action="store_true", help="skip the golden-set runs")
    parser.add_argument(
        "--latency-documents", type=int, default=0, help="also time queries on a borrowed-vector index of this size"
    )
    parser.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it")
    parser.add_argument("--name", default="scale", help="report file name (without extension)")
    parser.add_argument("--report", type=Path, default=REPORTS)
    args = parser.parse_args(argv)

    machine = describe_machine()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    try:
        data, body = run(args, work)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    write_report(args.name, f"Scale: the guide among {args.documents:,} documents", machine, body, data, args.report)
    return 0


def run(args: argparse.Namespace, work: Path) -> tuple[dict[str, Any], list[str]]:
    n = args.documents
    guide = GUIDE.name
    corpus = work / "corpus"
    started = time.perf_counter()
    files = write_corpus(corpus, n, args.seed)
    generate_s = time.perf_counter() - started
    corpus_mb = sum(p.stat().st_size for p in files) / 1e6
    chunks = chunk_documents(load_documents(corpus))
    print(f"{n} documents, {len(chunks):,} chunks, {corpus_mb:.1f} MB written in {generate_s:.1f} s", flush=True)
    embed_model = load_embed_model()

    # -- ingest against raw encoding ---------------------------------------------------------------
    sample = contiguous_sample([c.index_text for c in chunks], args.encode_sample, args.seed)
    embed_model.get_text_embedding_batch(sample[:64])  # warm-up
    half = len(sample) // 2
    before = encode_seconds(embed_model, sample[:half])
    settings = bench_settings(work / "many", corpus)
    report, ingest_s, ingest_stages = timed_ingest(settings, embed_model)
    after = encode_seconds(embed_model, sample[half:])
    raw_cps = len(sample) / (before + after)
    ingest_cps = len(chunks) / ingest_s
    ratio = ingest_cps / raw_cps
    # The same comparison inside the one ingest, immune to the machine's load changing between measurements:
    # its embedding stage is exactly the raw encoding of every chunk, in the same order and batches.
    in_run_ratio = ingest_stages["embedding"] / ingest_s
    print(f"ingest {ingest_cps:.0f} chunks/s against raw encoding {raw_cps:.0f}/s: {ratio:.2f}x", flush=True)

    # -- re-ingest: unchanged, then 1 % of the documents reworded ------------------------------------
    unchanged, unchanged_s, _ = timed_ingest(settings, embed_model)
    old_ids = {c.chunk_id for c in chunks}
    edited = edit_corpus(corpus, args.edit, args.seed)
    new_chunks = chunk_documents(load_documents(corpus))
    changed = len({c.chunk_id for c in new_chunks} - old_ids)
    reingest, reingest_s, reingest_stages = timed_ingest(settings, embed_model)
    print(f"re-ingest after editing {len(edited)} documents: {reingest.summary()} in {reingest_s:.1f} s", flush=True)

    # -- query latency: N documents against the guide alone -----------------------------------------
    one_corpus = work / "one" / "corpus"
    one_corpus.mkdir(parents=True)
    shutil.copyfile(GUIDE, one_corpus / guide)
    one_settings = bench_settings(work / "one", one_corpus)
    ingest(one_settings, embed_model)
    one = ScopedService(one_settings, embed_model=embed_model)
    many = ScopedService(settings, embed_model=embed_model)
    services: list[tuple[str, QAService]] = [("1 document", one), (f"{n} documents", many)]
    big_n = args.latency_documents
    borrowed: dict[str, Any] = {}
    if big_n > n:
        started = time.perf_counter()
        big_settings, borrowed = borrowed_vector_index(work / "big", big_n, args.seed, settings)
        borrowed["build_seconds"] = round(time.perf_counter() - started, 1)
        print(f"borrowed-vector index of {big_n} documents: {borrowed}", flush=True)
        services.append((f"{big_n} documents (borrowed vectors)", QAService(big_settings, embed_model=embed_model)))
    load_s = {}
    for name, service in services:
        started = time.perf_counter()
        service.load()
        load_s[name] = time.perf_counter() - started
    everything = golden_questions()
    questions, warmup = everything[: args.questions], everything[-3:]
    modes: dict[str, Callable[[str], object]] = {}
    for name, service in services:
        modes[f"retrieve, {name}"] = service.retrieve
    for name, service in services:
        modes[f"ask, {name}"] = service.ask
    for q in warmup:
        for call in modes.values():
            call(q)
    samples: dict[str, list[float]] = {name: [] for name in modes}
    names = list(modes)
    for i, q in enumerate(questions):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            started = time.perf_counter()
            modes[name](q)
            samples[name].append((time.perf_counter() - started) * 1000)
    timings = {name: Timing.of(values) for name, values in samples.items()}
    breakdown = time_breakdown(services, questions)
    query_ratio = timings[f"ask, {n} documents"].p50 / timings["ask, 1 document"].p50
    retrieve_ratio = timings[f"retrieve, {n} documents"].p50 / timings["retrieve, 1 document"].p50
    print(f"ask p50 at {n} documents ÷ 1 document: {query_ratio:.2f}", flush=True)
    big_ratios: dict[str, Any] = {}
    if borrowed:
        label = f"{big_n} documents (borrowed vectors)"
        big_ratios = {
            "ask_p50_ratio": round(timings[f"ask, {label}"].p50 / timings["ask, 1 document"].p50, 2),
            "ask_paired_ratio": round(paired_ratio(samples[f"ask, {label}"], samples["ask, 1 document"]), 2),
            "retrieve_p50_ratio": round(timings[f"retrieve, {label}"].p50 / timings["retrieve, 1 document"].p50, 2),
        }
        big_ratios["target_holds"] = big_ratios["ask_p50_ratio"] <= TARGET_QUERY_RATIO
        print(f"ask p50 at {big_n} documents (borrowed vectors) ÷ 1 document: {big_ratios['ask_p50_ratio']}")
        services.pop()  # free the large index before the quality runs
        modes.clear()

    # -- quality ---------------------------------------------------------------------------------------
    qualities: dict[str, dict[str, float | None]] = {}
    if not args.no_quality:
        one_sources = {c.chunk_id: c.source for c in one.index().retriever.chunks}
        qualities["the guide alone"] = quality(
            run_harness(one_settings, DEFAULT_DATASET, service=one, progress=False), one_sources, guide
        )
        many_sources = {c.chunk_id: c.source for c in many.index().retriever.chunks}
        qualities[f"among {n} documents"] = quality(
            run_harness(settings, DEFAULT_DATASET, service=many, progress=False), many_sources, guide
        )
        many.scope = guide
        qualities[f"among {n} documents, source filter on the guide"] = quality(
            run_harness(settings, DEFAULT_DATASET, service=many, progress=False), many_sources, guide
        )
        print("quality: " + "; ".join(f"{k}: hit@1 {v['hit@1']:.3f}" for k, v in qualities.items()), flush=True)

    per_document = len(chunks) / n
    full_chunks = per_document * FULL_SIZE
    data: dict[str, Any] = {
        "documents": n,
        "chunks": len(chunks),
        "corpus_mb": round(corpus_mb, 2),
        "seed": args.seed,
        "ingest": {
            "seconds": round(ingest_s, 1),
            "chunks_per_second": round(ingest_cps, 1),
            "raw_encoding_chunks_per_second": round(raw_cps, 1),
            "raw_encoding_sample": len(sample),
            "ratio": round(ratio, 3),
            "target_holds": ratio >= TARGET_INGEST_RATIO,
            "embedding_share_of_ingest": round(in_run_ratio, 3),
            "in_run_target_holds": in_run_ratio >= TARGET_INGEST_RATIO,
            "stages_seconds": {k: round(v, 1) for k, v in ingest_stages.items()},
            "report": report.summary(),
        },
        "reingest_unchanged": {
            "seconds": round(unchanged_s, 1),
            "report": unchanged.summary(),
            "embedded": unchanged.embedded,
        },
        "reingest_after_edit": {
            "documents_edited": len(edited),
            "chunks_changed": changed,
            "added": reingest.added,
            "updated": reingest.updated,
            "removed": reingest.removed,
            "unchanged": reingest.unchanged,
            "embedded": reingest.embedded,
            "seconds": round(reingest_s, 1),
            "stages_seconds": {k: round(v, 1) for k, v in reingest_stages.items()},
            "embeds_only_what_changed": reingest.embedded == changed,
        },
        "load_seconds": {k: round(v, 2) for k, v in load_s.items()},
        "latency": {name: t.as_dict() for name, t in timings.items()},
        "breakdown_p50_ms": breakdown,
        "ask_p50_ratio": round(query_ratio, 2),
        "ask_paired_ratio": round(paired_ratio(samples[f"ask, {n} documents"], samples["ask, 1 document"]), 2),
        "retrieve_p50_ratio": round(retrieve_ratio, 2),
        "query_target_holds": query_ratio <= TARGET_QUERY_RATIO,
        "borrowed_vector_index": {"documents": big_n, **borrowed, **big_ratios} if borrowed else None,
        "quality": qualities,
    }
    body = describe(args, data, per_document, full_chunks, timings, samples)
    return data, body


def describe(
    args: argparse.Namespace,
    data: dict[str, Any],
    per_document: float,
    full_chunks: float,
    timings: dict[str, Timing],
    samples: dict[str, list[float]],
) -> list[str]:
    n = data["documents"]
    ing, edit = data["ingest"], data["reingest_after_edit"]
    one_ask = samples["ask, 1 document"]
    body = [
        f"Corpus: the guide and {n - 1:,} synthetic documents from `python -m evals.bench.synth_corpus --documents "
        f"{n} --seed {data['seed']}` (each guide-sized: the guide's sections shuffled and reworded — salaries "
        f"scaled, percentages, multipliers and durations changed, cities and industries exchanged, common words "
        f"replaced by synonyms): {data['chunks']:,} chunks ({per_document:.0f} per document), "
        f"{data['corpus_mb']:.1f} MB. Embedded Chroma store (`PersistentClient`) in a temporary folder; the "
        f"packaged all-MiniLM-L6-v2 on the CPU.",
        "",
    ]
    if n < FULL_SIZE:
        full_minutes = full_chunks / ing["chunks_per_second"] / 60
        body += [
            f"**Size measured: {n:,} documents, not {FULL_SIZE:,}.** At the ingest rate measured here, "
            f"{FULL_SIZE:,} documents (~{full_chunks:,.0f} chunks) would take about {full_minutes:.0f} minutes to "
            f"ingest on this machine (a linear extrapolation; Chroma's writes grow a little faster than linearly).",
            "",
        ]
    body += [
        "## Ingest",
        "",
        *table(
            ["measure", "value"],
            [
                ("chunks", f"{data['chunks']:,}"),
                ("ingest seconds (fresh index)", fmt(ing["seconds"])),
                ("ingest chunks/s", fmt(ing["chunks_per_second"])),
                (
                    f"raw encoding chunks/s (same model and batch size; {ing['raw_encoding_sample']:,} of the same "
                    "texts in runs of 256 consecutive chunks, half before and half after the ingest)",
                    fmt(ing["raw_encoding_chunks_per_second"]),
                ),
                ("ingest ÷ raw encoding (separate measurements)", f"{ing['ratio']:.2f}"),
                (
                    "ingest ÷ raw encoding (its own embedding stage ÷ its total time)",
                    f"{ing['embedding_share_of_ingest']:.2f}",
                ),
                *[(f"ingest stage: {k}, s", fmt(v)) for k, v in ing["stages_seconds"].items()],
            ],
        ),
        "",
        f"Target ingest ≥ {TARGET_INGEST_RATIO}× raw encoding: {verdict(ing['target_holds'])} on the separate "
        f"measurements, {verdict(ing['in_run_target_holds'])} inside the one ingest. The two can differ on a busy "
        "machine: the separate raw encoding runs minutes before and after the ingest, under whatever load there "
        "was then; the embedding stage of the ingest is the same encoding of all the same texts, timed in the "
        "same run, so its share is the steadier figure.",
        "",
        "## Re-ingest",
        "",
        *table(
            ["run", "added", "updated", "removed", "unchanged", "embedded", "seconds"],
            [
                (
                    "unchanged corpus",
                    0,
                    0,
                    0,
                    data["reingest_unchanged"]["report"].split(" unchanged")[0].split(", ")[-1],
                    data["reingest_unchanged"]["embedded"],
                    fmt(data["reingest_unchanged"]["seconds"]),
                ),
                (
                    f"documents reworded: {edit['documents_edited']} ({args.edit:.0%})",
                    edit["added"],
                    edit["updated"],
                    edit["removed"],
                    edit["unchanged"],
                    edit["embedded"],
                    fmt(edit["seconds"]),
                ),
            ],
        ),
        "",
        f"Chunks whose text changed (new chunk ids, counted independently by chunking the corpus before and after "
        f"the edit): {edit['chunks_changed']:,}; embedded: {edit['embedded']:,} — embeds only what changed "
        f"{verdict(edit['embeds_only_what_changed'])}. The re-ingest still writes every chunk into a new collection "
        f"(stored vectors are copied, not recomputed), which is where its time goes: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in edit["stages_seconds"].items())
        + ".",
        "",
        "## Query latency",
        "",
        f"{len(one_ask)} golden-set questions, each asked of both indexes in rotating order (answer cache off), "
        f"after 3 warm-up questions. Loading the index into a service (chunks read from Chroma, BM25 and "
        f"vocabularies built): " + ", ".join(f"{k} {v:.1f} s" for k, v in data["load_seconds"].items()) + ".",
        "",
        *table(
            ["mode", "p50 ms", "p95 ms", "n"],
            [(name, fmt(t.p50, 2), fmt(t.p95, 2), t.n) for name, t in timings.items()],
        ),
        "",
        "Where a search spends its time on each index (median ms; each part timed on its own):",
        "",
        *table(
            ["index", *next(iter(data["breakdown_p50_ms"].values()), {}).keys()],
            [(name, *(fmt(v, 2) for v in parts.values())) for name, parts in data["breakdown_p50_ms"].items()],
        ),
        "",
        f"`ask` p50 at {n:,} documents ÷ 1 document: {data['ask_p50_ratio']:.2f} (median of per-question ratios "
        f"{data['ask_paired_ratio']:.2f}); `retrieve`: {data['retrieve_p50_ratio']:.2f}. Target ≤ "
        f"{TARGET_QUERY_RATIO}×: {verdict(data['query_target_holds'])}.",
    ]
    big = data["borrowed_vector_index"]
    if big:
        body += [
            "",
            f"At {big['documents']:,} documents ({big['chunks']:,} chunks; the index built in "
            f"{big['build_seconds']:.0f} s without the model: {big['real_vectors']:,} chunks that the measured index "
            f"holds kept their real vectors, the other {big['borrowed_vectors']:,} borrowed a real vector of another "
            f"chunk plus Gaussian noise, σ = {BORROWED_NOISE}, renormalised): `ask` p50 ÷ 1 document "
            f"{big['ask_p50_ratio']:.2f} (median of per-question ratios {big['ask_paired_ratio']:.2f}); `retrieve` "
            f"{big['retrieve_p50_ratio']:.2f}. Target ≤ {TARGET_QUERY_RATIO}× at {big['documents']:,} documents: "
            f"{verdict(big['target_holds'])}.",
        ]
    if data["quality"]:
        columns = [
            "hit@1",
            "hit@5",
            "mrr@10",
            "guide_hit@1",
            "guide_hit@5",
            "top1_from_guide",
            "citations_from_guide",
            "fact_recall",
            "false_abstention",
            "abstain_recall",
        ]
        body += [
            "",
            "## Golden-set quality with near-duplicates",
            "",
            "`evals.harness.run_harness` on the golden set, the served pipeline (`QAService`), three ways. "
            "`hit@k` is the harness's own (a chunk is relevant when it holds an evidence string, whichever "
            "document it is from: an unchanged sentence in a synthetic document counts); `guide_hit@k` counts "
            "only the guide's own chunks; `top1_from_guide` and `citations_from_guide` are the share of first "
            'results and of citations that come from the guide. The source filter is `"source": '
            f'"{GUIDE.name}"` on every question.',
            "",
            *table(
                ["corpus", *columns],
                [(name, *(fmt(q[c], 3) for c in columns)) for name, q in data["quality"].items()],
            ),
        ]
    return body


if __name__ == "__main__":
    raise SystemExit(main())
