"""The `rag` command: ingest, ask, retrieve, eval, serve. Errors end in one line, never a traceback."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from rag.errors import ConfigurationError, CorpusError, RagError
from rag.settings import Settings, load_settings

# Hosts that are this machine: a Chroma server there and this server cannot share a port.
LOCAL_HOSTS = {"localhost", "0.0.0.0", "::", "::1", "ip6-localhost"}
MAX_PORT = 65535


def whole_number(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None


def positive_int(value: str) -> int:
    number = whole_number(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from rag.index.embedding import load_embed_model
    from rag.index.ingest import ingest

    corpus = Path(args.corpus) if args.corpus else settings.corpus_dir
    if corpus.is_file():
        given = f"--corpus {corpus}" if args.corpus else f"RAG_CORPUS_DIR={corpus}"
        raise CorpusError(f"{given} is a file, not a folder; name the folder that holds the documents")
    report = ingest(
        settings,
        # The model is loaded only if something must be embedded.
        lambda: load_embed_model(settings.embed_model, settings.torch_threads),
        corpus_dir=corpus,
        rebuild=args.rebuild,
        show_progress=sys.stderr.isatty(),
        on_stage=announce_stage,
    )
    print(report.summary())
    return 0


def announce_stage(stage: str) -> None:
    print(f"... {stage}", file=sys.stderr, flush=True)
    # For the fault tests only (tests/integration/test_faults.py, SECURITY.md): hold still at this stage so
    # that a test can `kill -9` the ingest at a known point. Never set in a deployment.
    if os.environ.get("RAG_TEST_PAUSE_AT") == stage:
        time.sleep(600)


def _service(settings: Settings):  # type: ignore[no-untyped-def]
    from rag.index.store import require_built_index

    require_built_index(settings)  # before the model loads, and without creating the index folder
    from rag.service import QAService

    service = QAService(settings)
    service.load()
    return service


def require_text(value: str, what: str) -> str:
    """Checked before anything heavy loads, so a typo costs no model start-up."""
    if not value.strip():
        raise RagError(f"the {what} is empty; pass some text in quotes")
    return value


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    require_text(args.question, "question")
    if args.server is not None:
        payload = served_answer(args, settings)
    else:
        from rag.models import answer_payload

        service = _service(settings)
        payload = answer_payload(service.ask(args.question, args.top_k, source=args.source))
    if args.json:
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    print(payload["answer"])
    for c in payload["citations"]:
        print(f'\n[{c["n"]}] {c["section"]} ({c["source"]}:{c["start"]}-{c["end"]})\n    "{c["quote"]}"')
    return 0


def served_answer(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """The answer of a running `rag serve` (`--server [URL]`, by default RAG_HOST:RAG_PORT): a second
    instead of a model load per call. Only when asked for: the server answers with its own settings and
    index, which a command line tried with other settings must not silently get."""
    import httpx

    url = (args.server or f"http://{settings.host}:{settings.port}").rstrip("/")
    headers = {"Authorization": f"Bearer {settings.api_keys[0]}"} if settings.api_keys else {}
    body: dict[str, object] = {"question": args.question}
    body.update({k: v for k, v in (("top_k", args.top_k), ("source", args.source)) if v is not None})
    try:
        response = httpx.post(
            f"{url}/v1/query", json=body, headers=headers, timeout=settings.request_timeout_seconds + 5
        )
    except httpx.HTTPError as exc:
        raise RagError(
            f"no answer from the server at {url} ({type(exc).__name__}); drop --server to answer here"
        ) from None
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if response.status_code != 200 or not isinstance(payload, dict) or "answer" not in payload:
        error = payload.get("error", {}) if isinstance(payload, dict) else {}
        message = error.get("message") if isinstance(error, dict) else None
        raise RagError(f"the server at {url} answered {response.status_code}: {message or response.text[:200]!r}")
    return payload


def cmd_retrieve(args: argparse.Namespace, settings: Settings) -> int:
    from rag.models import retrieved_payload

    require_text(args.query, "query")
    service = _service(settings)
    results = service.retrieve(args.query, args.top_k, args.source)
    if args.json:
        print(json.dumps({"results": [retrieved_payload(r) for r in results]}, ensure_ascii=False, indent=2))
        return 0
    for rank, r in enumerate(results, start=1):
        print(f"{rank}. [{r.score:.4f}] {r.chunk.section_path}\n   {r.chunk.text}")
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from evals.cli import run_eval

    return run_eval(args, settings)


def shared_metrics_dir(workers: int) -> tuple[str | None, bool]:
    """Several workers count into one folder so a scrape of any of them reports them all
    (prometheus_client's multiprocess mode, read from PROMETHEUS_MULTIPROC_DIR as each worker starts).
    Counts left by an earlier run are cleared. Returns the folder and whether it was made here."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
    made = False
    if folder is None and workers > 1:
        folder, made = tempfile.mkdtemp(prefix="rag-metrics-"), True
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for stale in Path(folder).glob("*.db"):
            stale.unlink()
    return folder, made


def port_clash(settings: Settings, host: str, port: int) -> str | None:
    """Why serving on host:port would take the port of the Chroma server the settings name, or None.
    Both default to 8000 (the contract fixes them), so `chroma run` on this machine needs another."""
    chroma = (settings.chroma_host or "").strip("[]").lower()
    if not chroma or settings.chroma_port != port:
        return None
    if chroma in LOCAL_HOSTS or chroma.startswith("127.") or chroma == host.strip("[]").lower():
        return (
            f"RAG_CHROMA_HOST={settings.chroma_host} and RAG_CHROMA_PORT={port} name the port this server "
            f"would listen on ({host}:{port}); run Chroma on another port (`chroma run --port 8001` with "
            "RAG_CHROMA_PORT=8001) or serve on another (--port or RAG_PORT)"
        )
    return None


def serving_port(args: argparse.Namespace, settings: Settings) -> int:
    """The port to listen on (--port, else RAG_PORT). Out of range, uvicorn would not refuse it: it would
    listen on another port (the number wrapped, or a random one for 0) while logging the one asked for."""
    port: int = settings.port if args.port is None else args.port
    if not 1 <= port <= MAX_PORT:
        given = f"--port {port}" if args.port is not None else f"RAG_PORT={port}"
        raise ConfigurationError(f"{given} is not a TCP port; choose one from 1 to {MAX_PORT}")
    return port


def require_free_port(host: str, port: int) -> None:
    """Bind host:port once, as uvicorn will, before anything loads: uvicorn binds only after the app has
    started (the model loaded), and a taken port would cost that start-up and end in a page of logs."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As uvicorn does: a port left in TIME_WAIT by an earlier server is free to take.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise ConfigurationError(
                f"cannot listen on {host}:{port}: {reason.lower()}; stop what holds it or serve on another port "
                "(--port or RAG_PORT)"
            ) from None


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    host, port = args.host or settings.host, serving_port(args, settings)
    clash = port_clash(settings, host, port)
    if clash:
        raise ConfigurationError(clash)
    require_free_port(host, port)
    import uvicorn

    folder, made = shared_metrics_dir(args.workers)
    try:
        uvicorn.run(
            "api.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=args.workers,
            log_level="info",
            # The app formats every log line (JSON with request and query ids) and writes the access log.
            log_config=None,
            access_log=False,
        )
    finally:
        if made and folder:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from rag.operations.reporting import build_report, format_report
    from rag.operations.state import open_state_store

    report = build_report(open_state_store(settings), args.days, args.slowest)
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else format_report(report))
    return 0


def cmd_feedback_export(args: argparse.Namespace, settings: Settings) -> int:
    import time

    from rag.operations.reporting import DAY, feedback_dataset, load_log
    from rag.operations.state import open_state_store

    since = time.time() - args.days * DAY if args.days else None
    lines = feedback_dataset(load_log(open_state_store(settings), since))
    text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"{len(lines)} questions to review written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


class CommandParser(argparse.ArgumentParser):
    """The parser of one command (`rag ask`, `rag feedback export`). argparse hands what a command does not
    know back up to the top-level parser, whose error shows `rag`'s usage; this one answers an unknown
    option itself, with the usage of the command that was given it."""

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, unknown = super().parse_known_args(args, namespace)
        if unknown:
            self.error(f"unrecognized arguments: {' '.join(unknown)}")
        return parsed, unknown


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag", description="Answers from the AI Engineer hiring guide, with citations."
    )
    # Sub-commands of a command (`feedback export`) are CommandParsers too: argparse makes them of their parent's class.
    commands = parser.add_subparsers(dest="command", required=True, parser_class=CommandParser)

    ingest = commands.add_parser("ingest", help="build or refresh the index from the corpus")
    ingest.add_argument("--corpus", help="corpus folder (default: RAG_CORPUS_DIR)")
    ingest.add_argument("--rebuild", action="store_true", help="re-embed everything into a fresh index")
    ingest.set_defaults(run=cmd_ingest)

    ask = commands.add_parser("ask", help="answer a question with citations")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print the /v1/query response object")
    ask.add_argument("--top-k", type=positive_int, default=None)
    ask.add_argument("--source", default=None, help="only this document (path relative to the corpus folder)")
    ask.add_argument(
        "--server",
        nargs="?",
        const="",
        default=None,
        metavar="URL",
        help="ask a running `rag serve` (default http://RAG_HOST:RAG_PORT) instead of loading the model here",
    )
    ask.set_defaults(run=cmd_ask)

    retrieve = commands.add_parser("retrieve", help="show the ranked chunks for a query")
    retrieve.add_argument("query")
    retrieve.add_argument("--json", action="store_true", help="print the /v1/retrieve response object")
    retrieve.add_argument("--top-k", type=positive_int, default=None)
    retrieve.add_argument("--source", default=None, help="only this document (path relative to the corpus folder)")
    retrieve.set_defaults(run=cmd_retrieve)

    evaluate = commands.add_parser("eval", help="measure retrieval and answer quality on a dataset")
    evaluate.add_argument("--dataset", default=None, help="JSONL dataset (default: evals/golden.jsonl)")
    evaluate.add_argument("--k", default="1,3,5,10", help="cut-offs, comma-separated")
    evaluate.add_argument("--json", dest="json_out", default=None, help="write all results as JSON here")
    evaluate.add_argument("--report", default=None, help="write a Markdown report and plots into this folder")
    evaluate.add_argument("--compare", action="store_true", help="also run the llama-index default baselines")
    evaluate.add_argument("--calibrate", action="store_true", help="choose and save the abstention threshold")
    evaluate.add_argument("--split", default=None, help="only questions of this split (e.g. tune, heldout)")
    evaluate.add_argument(
        "--corpus",
        default=None,
        help="the documents the dataset is about (default: the configured corpus); another folder gets an index of its own",
    )
    evaluate.set_defaults(run=cmd_eval)

    serve = commands.add_parser("serve", help="serve the HTTP API, chat page and Slack endpoint")
    serve.add_argument("--host", default=None)
    # Checked in cmd_serve, with RAG_PORT, so that both fail alike in one line.
    serve.add_argument("--port", type=whole_number, default=None)
    serve.add_argument("--workers", type=positive_int, default=1)
    serve.set_defaults(run=cmd_serve)

    report = commands.add_parser("report", help="summarise the query log: volume, abstentions, 👎, drift")
    report.add_argument("--days", type=positive_int, default=56, help="how far back to look (default 56)")
    report.add_argument("--slowest", type=positive_int, default=5, help="how many of the slowest queries to list")
    report.add_argument("--json", action="store_true", help="print the report as JSON")
    report.set_defaults(run=cmd_report)

    feedback = commands.add_parser("feedback", help="the questions users were let down on")
    feedback_commands = feedback.add_subparsers(dest="feedback_command", required=True)
    export = feedback_commands.add_parser("export", help="👎 and abstained questions as dataset lines for review")
    export.add_argument("--out", default=None, help="write the JSONL here (default: standard output)")
    export.add_argument("--days", type=positive_int, default=None, help="only the last N days (default: all)")
    export.set_defaults(run=cmd_feedback_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    run: Callable[[argparse.Namespace, Settings], int] = args.run
    try:
        settings = load_settings()
        code = run(args, settings)
    except RagError as exc:
        print(f"rag {args.command}: error: {exc}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        print(f"rag {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the last line of defence: one line, not a traceback
        print(f"rag {args.command}: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        code = 1
    if argv is None and args.command in QUICK_EXIT:
        exit_now(code)
    return code


# Commands that only read: once their output is out, nothing is left to write. Tearing down the interpreter
# after torch, transformers and chromadb were loaded takes about 1.5 s on the 2-core machines here
# (evals/reports/bench/cli_start.md), longer than answering.
QUICK_EXIT = {"ask", "retrieve"}


def exit_now(code: int) -> NoReturn:
    """End the process as the command line's own `rag ask` would, skipping the interpreter's teardown."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError):  # a reader that went away (`| head`) is no reason to fail
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
