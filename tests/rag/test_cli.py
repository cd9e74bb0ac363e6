"""The `rag` command fails in one line, never with a traceback. Each run gets a clean environment (no
developer `.env` or `RAG_*` settings) and a working folder of its own."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding

from api.app import create_app
from rag.cli import main, port_clash
from rag.service import QAService
from rag.settings import Settings
from tests.clean_env import clean_env, neutral_cwd
from tests.conftest import CORPUS, make_settings
from tests.serving import serve


def run_rag(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300, python: tuple[str, ...] = ("-m", "rag.cli")
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *python, *args],
        capture_output=True,
        text=True,
        cwd=neutral_cwd(),
        env=clean_env(**{"RAG_CORPUS_DIR": str(CORPUS), **(env or {})}),
        timeout=timeout,
    )


def one_line_error(result: subprocess.CompletedProcess[str], command: str) -> str:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"rag {command}: error:"), result.stderr
    return lines[0]


@pytest.mark.parametrize("args", [("ask", ""), ("ask", "   "), ("retrieve", "")])
def test_empty_text_is_a_one_line_error(args: tuple[str, ...]) -> None:
    result = run_rag(*args)
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr and "empty" in result.stderr


def test_missing_index_is_a_one_line_error(tmp_path: Path) -> None:
    result = run_rag("ask", "What do AI engineers earn?", env={"RAG_INDEX_DIR": str(tmp_path / "none")})
    assert "rag ingest" in one_line_error(result, "ask")
    assert "Traceback" not in result.stderr


# Runs `rag ask` in-process in the child and reports whether torch (the embedding model) was imported.
ASK_AND_REPORT_TORCH = (
    "-c",
    "import sys; from rag.cli import main; code = main(sys.argv[1:]); "
    "print('torch loaded' if 'torch' in sys.modules else 'no torch'); sys.exit(code)",
)


@pytest.mark.parametrize("command", ["ask", "retrieve"])
def test_a_missing_index_fails_before_the_model_loads_and_creates_nothing(tmp_path: Path, command: str) -> None:
    index = tmp_path / "index"
    result = run_rag(
        command, "What do AI engineers earn?", env={"RAG_INDEX_DIR": str(index)}, python=ASK_AND_REPORT_TORCH
    )
    assert "rag ingest" in one_line_error(result, command)
    assert result.stdout.strip() == "no torch"
    assert not index.exists()


@pytest.mark.parametrize(
    ("name", "value"),
    [("RAG_TOP_K", "abc"), ("RAG_PORT", "eighty"), ("RAG_LLM", "gpt"), ("RAG_TORCH_THREADS", "0")],
)
def test_a_broken_setting_is_one_line_naming_it(tmp_path: Path, name: str, value: str) -> None:
    result = run_rag("ask", "x", env={"RAG_INDEX_DIR": str(tmp_path / "index"), name: value})
    line = one_line_error(result, "ask")
    assert f"{name}={value!r}" in line
    assert "https://" not in line and "Traceback" not in result.stderr


def test_serve_refuses_the_port_of_a_local_chroma_server(tmp_path: Path) -> None:
    env = {
        "RAG_INDEX_DIR": str(tmp_path / "index"),
        "RAG_STATE_PATH": str(tmp_path / "state.sqlite3"),
        "RAG_CHROMA_HOST": "localhost",
    }
    # Both at their defaults (8000), and both set to one other port.
    for extra, port in (({}, 8000), ({"RAG_CHROMA_PORT": "8765", "RAG_PORT": "8765"}, 8765)):
        result = run_rag("serve", env=env | extra, timeout=60)
        line = one_line_error(result, "serve")
        assert "RAG_CHROMA_PORT" in line and str(port) in line
    result = run_rag("serve", "--port", "8766", env=env | {"RAG_CHROMA_PORT": "8766"}, timeout=60)
    assert "RAG_CHROMA_PORT" in one_line_error(result, "serve")


def test_a_remote_chroma_server_or_another_port_is_no_clash(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, RAG_CHROMA_HOST="chroma.internal", RAG_CHROMA_PORT=8000)
    assert port_clash(settings, "127.0.0.1", 8000) is None
    local = make_settings(tmp_path, RAG_CHROMA_HOST="127.0.0.1", RAG_CHROMA_PORT=8001)
    assert port_clash(local, "127.0.0.1", 8000) is None
    assert port_clash(local, "0.0.0.0", 8001) is not None


def test_bad_top_k_is_rejected_by_the_parser() -> None:
    result = run_rag("ask", "hello", "--top-k", "0")
    assert result.returncode != 0 and "Traceback" not in result.stderr


def test_ask_json_prints_the_query_object(built_settings: Settings, tmp_path: Path) -> None:
    env = {"RAG_INDEX_DIR": str(built_settings.index_dir), "RAG_STATE_PATH": str(tmp_path / "s.db")}
    result = run_rag("ask", "How long does it take to hire a senior AI engineer?", "--json", env=env)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert set(body) >= {"query_id", "answer", "answerable", "citations"}
    assert "2-4 months" in body["answer"]


# Runs the command in-process in the child, then reports which heavy libraries it imported.
RUN_AND_REPORT_IMPORTS = (
    "-c",
    "import sys\nfrom rag.cli import main\ntry:\n    code = main(sys.argv[1:])\nexcept SystemExit as exc:\n"
    "    code = exc.code\nheavy = ('torch', 'sentence_transformers', 'chromadb', 'llama_index.core')\n"
    "print('imported:', sorted(m for m in heavy if m in sys.modules))\nsys.exit(code)",
)


@pytest.mark.parametrize(
    ("args", "env"),
    [(("ask", "--help"), {}), (("retrieve", "--help"), {}), (("ask", "x"), {"RAG_TOP_K": "abc"})],
)
def test_help_and_a_broken_setting_load_nothing_heavy(args: tuple[str, ...], env: dict[str, str]) -> None:
    result = run_rag(*args, env=env, python=RUN_AND_REPORT_IMPORTS)
    assert result.stdout.strip().splitlines()[-1] == "imported: []", result.stdout + result.stderr


@pytest.fixture(scope="module")
def served_url(built_settings: Settings, embed_model: BaseEmbedding) -> Iterator[str]:
    with serve(create_app(built_settings, QAService(built_settings, embed_model=embed_model))) as url:
        yield url


@pytest.mark.integration
def test_ask_server_answers_from_a_running_server_without_loading_a_model(tmp_path: Path, served_url: str) -> None:
    # No index here at all: the answer can only have come from the server.
    env = {"RAG_INDEX_DIR": str(tmp_path / "none")}
    question = "How long does it take to hire a senior AI engineer?"
    result = run_rag("ask", question, "--json", "--server", served_url, env=env, python=RUN_AND_REPORT_IMPORTS)
    assert result.returncode == 0, result.stderr
    *body, imported = result.stdout.strip().splitlines()
    assert imported == "imported: []"
    answer = json.loads("\n".join(body))
    assert "2-4 months" in answer["answer"] and answer["citations"]
    assert not (tmp_path / "none").exists()
    # RAG_HOST/RAG_PORT name the server when --server gives no URL; the text output is the local one's.
    host, port = served_url.removeprefix("http://").rsplit(":", 1)
    result = run_rag("ask", question, "--server", env=env | {"RAG_HOST": host, "RAG_PORT": port})
    assert result.returncode == 0, result.stderr
    assert "2-4 months" in result.stdout and "\n[1] " in result.stdout


@pytest.mark.integration
def test_ask_server_refusals_are_one_line_errors(tmp_path: Path, served_url: str) -> None:
    refused = run_rag("ask", "What do AI engineers earn?", "--server", served_url, "--source", "other.txt")
    assert "422" in one_line_error(refused, "ask") and "other.txt" in refused.stderr
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = run_rag("ask", "What do AI engineers earn?", "--server", f"http://127.0.0.1:{port}")
    assert "drop --server" in one_line_error(down, "ask")


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (("--port", "99999"), {}, "--port 99999"),
        (("--port", "0"), {}, "--port 0"),
        ((), {"RAG_PORT": "99999"}, "RAG_PORT=99999"),
        ((), {"RAG_PORT": "0"}, "RAG_PORT=0"),
    ],
)
def test_serve_refuses_a_port_out_of_range_in_one_line(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], named: str
) -> None:
    # Before the check, uvicorn took 99999 (or 0) and listened on another port: this run would not end.
    state = {"RAG_INDEX_DIR": str(tmp_path / "index"), "RAG_STATE_PATH": str(tmp_path / "state.sqlite3")}
    result = run_rag("serve", *args, env=state | env, timeout=60)
    line = one_line_error(result, "serve")
    assert named in line and "1 to 65535" in line


def test_serve_on_a_taken_port_fails_in_one_line_before_loading_anything(tmp_path: Path) -> None:
    env = {"RAG_INDEX_DIR": str(tmp_path / "index"), "RAG_STATE_PATH": str(tmp_path / "state.sqlite3")}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_rag("serve", "--port", str(port), env=env, timeout=120, python=RUN_AND_REPORT_IMPORTS)
    line = one_line_error(result, "serve")
    assert f"127.0.0.1:{port}" in line and "in use" in line
    # Nothing started: no model was loaded (nor its libraries imported), no app start-up was logged.
    assert "SentenceTransformer" not in result.stderr and "startup" not in result.stderr
    assert result.stdout.strip().splitlines()[-1] == "imported: []"
    assert not (tmp_path / "state.sqlite3").exists()


@pytest.mark.parametrize("given", ["option", "setting"])
def test_ingest_of_a_file_says_it_is_a_file_not_a_folder(tmp_path: Path, given: str) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# Not a corpus folder\n", encoding="utf-8")
    env = {"RAG_INDEX_DIR": str(tmp_path / "index")}
    if given == "option":
        result = run_rag("ingest", "--corpus", str(readme), env=env)
    else:
        result = run_rag("ingest", env=env | {"RAG_CORPUS_DIR": str(readme)})
    line = one_line_error(result, "ingest")
    assert str(readme) in line and "is a file, not a folder" in line
    assert "does not exist" not in line
    assert not (tmp_path / "index").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["ask", "x", "--bogus"],
        ["retrieve", "x", "--bogus"],
        ["ingest", "--bogus"],
        ["eval", "--bogus"],
        ["serve", "--bogus"],
        ["report", "--bogus"],
        ["feedback", "export", "--bogus"],
    ],
)
def test_an_unknown_option_shows_the_usage_of_its_own_command(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    command = "rag " + " ".join(word for word in argv if word not in {"x", "--bogus"})
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: {command} "), err
    assert err.strip().splitlines()[-1] == f"{command}: error: unrecognized arguments: --bogus"


def test_an_unknown_option_before_the_command_shows_the_usage_of_rag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--bogus", "ask", "x"])
    assert capsys.readouterr().err.startswith("usage: rag [-h] {")
