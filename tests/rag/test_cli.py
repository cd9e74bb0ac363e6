"""The `rag` command fails in one line, never with a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


def run_rag(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


@pytest.mark.parametrize("args", [("ask", ""), ("ask", "   "), ("retrieve", "")])
def test_empty_text_is_a_one_line_error(args: tuple[str, ...]) -> None:
    result = run_rag(*args)
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr and "empty" in result.stderr


def test_missing_index_is_a_one_line_error(tmp_path: Path) -> None:
    result = run_rag("ask", "What do AI engineers earn?", env={"RAG_INDEX_DIR": str(tmp_path / "none")})
    assert result.returncode != 0
    lines = [line for line in result.stderr.strip().splitlines() if line]
    assert lines[-1].startswith("rag ask: error:") and "rag ingest" in lines[-1]
    assert "Traceback" not in result.stderr


def test_bad_top_k_is_rejected_by_the_parser() -> None:
    result = run_rag("ask", "hello", "--top-k", "0")
    assert result.returncode != 0 and "Traceback" not in result.stderr


def test_ask_json_prints_the_query_object(built_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import json

    env = {"RAG_INDEX_DIR": str(built_settings.index_dir), "RAG_STATE_PATH": str(tmp_path / "s.db")}
    result = run_rag("ask", "How long does it take to hire a senior AI engineer?", "--json", env=env)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert set(body) >= {"query_id", "answer", "answerable", "citations"}
    assert "2-4 months" in body["answer"]
