"""Query latency, one question at a time: `QAService.retrieve` / `ask` in-process and `/v1/retrieve` /
`/v1/query` over HTTP (`rag serve`, one worker, in its own process), against two references measured in
the same run, question by question in rotating order:

* the floor: embedding the question with the same model plus one Chroma query on the same collection,
  the least any retrieval over this model and store can do;
* the plain llama-index default query path over the same model: `VectorStoreIndex` over
  `SentenceSplitter(chunk_size=256)` nodes, `as_retriever(similarity_top_k=k)`, once in memory (llama-index's
  default `SimpleVectorStore`) and once over Chroma (a temporary `PersistentClient` folder).

Then the same questions again, answered from the answer cache (in-process and over HTTP).

    python -m evals.bench.latency [--questions 100] [--top-k 5]

Needs a built index (`rag ingest`). Prints the tables and writes `evals/reports/bench/latency.{md,json}`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import torch
from llama_index.core.base.embeddings.base import BaseEmbedding

from evals.bench.machine import describe_machine
from evals.bench.report import REPORTS, write_report
from evals.bench.served import RagServe
from evals.bench.stats import Timing, fmt, paired_ratio, table, verdict
from evals.bench.workload import golden_questions
from rag.index.embedding import load_embed_model, packaged_model_path
from rag.index.store import ChunkStore, connect, where
from rag.operations.timing import traced
from rag.ranking.reader import READ_DEPTH, shared_reader
from rag.reading.documents import load_documents
from rag.service import QAService
from rag.settings import Settings

FLOOR = "floor: embed + one Chroma query (+ the reader over its pairs)"
TARGET_HTTP_QUERY = 1.3  # HTTP /v1/query p50 within this multiple of the floor's p50
TARGET_CACHED_MS = 2.0


def llamaindex_retrievers(corpus: Path, embed_model: BaseEmbedding, k: int) -> dict[str, Callable[[str], Any]]:
    """The llama-index starter path over the same model: in memory, and over Chroma in a temporary folder."""
    import chromadb
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.core import Settings as LlamaSettings
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.vector_stores.chroma import ChromaVectorStore

    LlamaSettings.llm = None  # no LLM: keep llama-index from reaching for OpenAI
    documents = [Document(text=d.text, metadata={"source": d.source}) for d in load_documents(corpus)]
    nodes = SentenceSplitter(chunk_size=256).get_nodes_from_documents(documents)
    in_memory = VectorStoreIndex(nodes, embed_model=embed_model).as_retriever(similarity_top_k=k)
    folder = tempfile.mkdtemp(prefix="bench-llamaindex-chroma-")
    client = chromadb.PersistentClient(path=folder, settings=chromadb.config.Settings(anonymized_telemetry=False))
    store = ChromaVectorStore(chroma_collection=client.create_collection("baseline", metadata={"hnsw:space": "cosine"}))
    over_chroma = VectorStoreIndex(
        nodes, storage_context=StorageContext.from_defaults(vector_store=store), embed_model=embed_model
    ).as_retriever(similarity_top_k=k)
    return {
        "llama-index default retriever (in memory)": in_memory.retrieve,
        "llama-index default retriever (over Chroma)": over_chroma.retrieve,
    }


def timed(call: Callable[..., object], *args: object) -> float:
    """Milliseconds `call(*args)` took."""
    started = time.perf_counter()
    call(*args)
    return (time.perf_counter() - started) * 1000


def post(client: httpx.Client, path: str, body: dict[str, object]) -> None:
    response = client.post(path, json=body)
    response.raise_for_status()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=100, help="golden-set questions to time (each mode once)")
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--report", type=Path, default=REPORTS)
    args = parser.parse_args(argv)

    machine = describe_machine()
    settings = Settings()
    k = args.top_k
    everything = golden_questions()
    questions, warmup = everything[: args.questions], everything[-3:]
    print(f"{len(questions)} questions; starting the server and building the references ...", flush=True)

    stages: dict[str, list[float]] = {}
    samples: dict[str, list[float]] = {}
    with RagServe(workers=1) as served, httpx.Client(base_url=served.url, timeout=60) as http:
        embed_model = load_embed_model(settings.embed_model)
        uncached = QAService(settings.model_copy(update={"answer_cache_size": 0}), embed_model=embed_model)
        cached = QAService(settings, embed_model=embed_model)
        uncached.load()
        cached.load()
        store = ChunkStore(connect(settings), where(settings))
        collection = store.collection(store.require_active().collection)

        reader = shared_reader() if settings.reader == "on" else None

        def floor(q: str) -> None:
            vector = embed_model.get_query_embedding(q)
            found = collection.query(query_embeddings=vector, n_results=max(k, READ_DEPTH if reader else k))
            if reader is not None:  # the reader's own forward pass over the pairs the service reads
                reader.scores(q, (found.get("documents") or [[]])[0][:READ_DEPTH])

        def ask_traced(q: str) -> None:
            with traced() as trace:
                uncached.ask(q, k)
            for name, seconds in trace.stages.items():
                stages.setdefault(name, []).append(seconds * 1000)

        # What the fine-tuned embedder costs: the question embedded by the packaged model as it ships
        # (fp32) and by the fine-tuned int8 one, and the two texts the service embeds in one batch
        # (the search text and the question as typed, which the shape classifier reads).
        packaged = load_embed_model(packaged_model_path())
        retriever = uncached.index().retriever

        modes: dict[str, Callable[[str], object]] = {
            FLOOR: floor,
            "embed only: packaged fp32 model": packaged.get_query_embedding,
            "embed only: fine-tuned model, int8 weights computed in fp32 (shipped)": embed_model.get_query_embedding,
            "embed only: search text + question as typed, one batch (shipped)": lambda q: (
                embed_model.get_text_embedding_batch([retriever.dense.query_text(q), q])
            ),
            "in-process QAService.retrieve": lambda q: uncached.retrieve(q, k),
            "in-process QAService.ask": ask_traced,
            **llamaindex_retrievers(settings.corpus_dir, embed_model, k),
            "HTTP /v1/retrieve": lambda q: post(http, "/v1/retrieve", {"query": q, "top_k": k}),
            # Each question reaches the server here for the first time: its answer cache cannot help.
            "HTTP /v1/query": lambda q: post(http, "/v1/query", {"question": q, "top_k": k}),
        }
        for q in warmup:  # first-call costs (lazy imports, allocator growth) are not what is measured
            for run in modes.values():
                run(q)
        stages.clear()
        names = list(modes)
        for i, q in enumerate(questions):
            for name in names[i % len(names) :] + names[: i % len(names)]:  # no mode always goes first
                samples.setdefault(name, []).append(timed(modes[name], q))
            if (i + 1) % 10 == 0:
                print(f"  {i + 1}/{len(questions)} questions", flush=True)

        # The same questions again: answered from the caches (filled by the first round over HTTP, and here).
        for q in questions:
            cached.ask(q, k)
        for q in questions:
            samples.setdefault("in-process QAService.ask, repeated (cache)", []).append(timed(cached.ask, q, k))
            samples.setdefault("HTTP /v1/query, repeated (cache)", []).append(
                timed(post, http, "/v1/query", {"question": q, "top_k": k})
            )
            # What any request costs over HTTP here, whatever it asks: the reference for the cached one.
            samples.setdefault("HTTP GET /healthz (the HTTP stack alone)", []).append(timed(http.get, "/healthz"))
        hits = cached.answers.hits
        time.sleep(0.5)  # the access-log line is written just after the response
        # The server's own view (its access log): from the request's arrival to the response, client excluded.
        served_cached = [
            float(str(e["duration_ms"]))
            for e in served.log_entries()
            if e.get("logger") == "api.access" and e.get("route") == "/v1/query"
        ][-len(questions) :]

    timings = {name: Timing.of(values) for name, values in samples.items()}
    floor_p50 = timings[FLOOR].p50
    rows = []
    for name, timing in timings.items():
        paired = paired_ratio(samples[name], samples[FLOOR])
        rows.append(
            {
                "mode": name,
                **timing.as_dict(),
                "p50_over_floor": round(timing.p50 / floor_p50, 2),
                "paired_ratio_over_floor": round(paired, 2),
            }
        )
    http_query = timings["HTTP /v1/query"]
    cached_in_process = timings["in-process QAService.ask, repeated (cache)"]
    cached_http = timings["HTTP /v1/query, repeated (cache)"]
    http_ratio = http_query.p50 / floor_p50
    targets = {
        "http_query_p50_over_floor": round(http_ratio, 2),
        "http_query_target_holds": http_ratio <= TARGET_HTTP_QUERY,
        "cached_in_process_p50_ms": round(cached_in_process.p50, 3),
        "cached_in_process_target_holds": cached_in_process.p50 <= TARGET_CACHED_MS,
        "cached_http_p50_ms": round(cached_http.p50, 3),
        "cached_http_target_holds": cached_http.p50 <= TARGET_CACHED_MS,
        "cache_hits_in_process": hits,
        "cached_http_server_side_p50_ms": round(statistics.median(served_cached), 3),
        "cached_http_server_side_target_holds": statistics.median(served_cached) <= TARGET_CACHED_MS,
    }
    stage_rows = [(name, fmt(statistics.median(v), 2), len(v)) for name, v in stages.items()]

    body = [
        f"{len(questions)} golden-set questions (no follow-ups), top_k={k}, each timed once per mode in rotating "
        f"order after 3 warm-up questions. In-process modes run in the benchmark's process; HTTP modes go to "
        f"`rag serve --workers 1` (own process, loopback, keep-alive client, JSON logs at INFO, extractive "
        f"answerer). The in-process `ask` runs with the answer cache off (`RAG_ANSWER_CACHE_SIZE=0`); the server "
        f"runs with the default cache, and the timed `/v1/query` round is the first time it sees each question. "
        f"The floor is `get_query_embedding(question)` plus one `collection.query(n_results={k})` on the "
        f"index's own Chroma collection, plus, when the reader ships (rag/ranking/reader.py; `RAG_READER` not "
        f"off), its forward pass over the {READ_DEPTH} pairs a question has it read. The llama-index references are its default retriever over "
        f"`SentenceSplitter(chunk_size=256)` nodes of the same corpus with the same model. torch used "
        f"{torch.get_num_threads()} intra-op threads in both processes (its default: one per core).",
        "",
        *table(
            ["mode", "p50 ms", "p95 ms", "n", "p50 ÷ floor p50", "median per-question ratio to floor"],
            [
                (
                    r["mode"],
                    fmt(r["p50_ms"], 2),
                    fmt(r["p95_ms"], 2),
                    r["n"],
                    r["p50_over_floor"],
                    r["paired_ratio_over_floor"],
                )
                for r in rows
            ],
        ),
        "",
        "Where the in-process `ask` spends its time (median ms per stage, from the same trace the API's "
        "metrics use; `retrieve` excludes the embedding inside it):",
        "",
        *table(["stage", "p50 ms", "n"], stage_rows),
        "",
        "## Targets",
        "",
        *table(
            ["target", "measured", "verdict"],
            [
                (
                    f"HTTP /v1/query p50 ≤ {TARGET_HTTP_QUERY}× floor p50",
                    f"{http_ratio:.2f}×",
                    verdict(targets["http_query_target_holds"]),
                ),
                (
                    f"repeated question from the cache, p50 ≤ {TARGET_CACHED_MS:g} ms (in-process)",
                    f"{cached_in_process.p50:.3f} ms",
                    verdict(targets["cached_in_process_target_holds"]),
                ),
                (
                    f"repeated question from the cache, p50 ≤ {TARGET_CACHED_MS:g} ms (over HTTP, server side: "
                    "the access log's duration)",
                    f"{targets['cached_http_server_side_p50_ms']:.2f} ms",
                    verdict(targets["cached_http_server_side_target_holds"]),
                ),
                (
                    f"repeated question from the cache, p50 ≤ {TARGET_CACHED_MS:g} ms (over HTTP, at the client)",
                    f"{cached_http.p50:.2f} ms",
                    verdict(targets["cached_http_target_holds"]),
                ),
            ],
            "lrl",
        ),
        "",
        f"Over HTTP a cached answer costs about what any request costs here: `GET /healthz` takes "
        f"{timings['HTTP GET /healthz (the HTTP stack alone)'].p50:.2f} ms at the client (uvicorn, the app's "
        "middleware — request ids, metrics, limits, the JSON access log — and the httpx client); the cached "
        "`/v1/query` adds the query-log write and the JSON body.",
    ]
    write_report(
        "latency",
        "Query latency: in-process and over HTTP, against the floor and llama-index",
        machine,
        body,
        {
            "questions": len(questions),
            "top_k": k,
            "rows": rows,
            "stages_p50_ms": {name: round(statistics.median(v), 3) for name, v in stages.items()},
            "targets": targets,
        },
        args.report,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
