"""The two state stores import in one direction only: the factory in `state.py` imports the PostgreSQL
store, which takes what it shares with the SQLite one from `state_contract.py`, never from `state.py`."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from rag.operations import state, state_contract, state_postgres
from tests.clean_env import clean_env, neutral_cwd


def imported_modules(module_file: str, *, top_level_only: bool) -> set[str]:
    """The `rag.*` modules a source file imports, anywhere in it or only at module level."""
    tree = ast.parse(Path(module_file).read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name for name in names if name.startswith("rag.")}


def test_state_postgres_never_imports_the_sqlite_store_module() -> None:
    assert "rag.operations.state" not in imported_modules(state_postgres.__file__, top_level_only=False)
    assert "rag.operations.state_contract" in imported_modules(state_postgres.__file__, top_level_only=True)


def test_the_sqlite_store_module_loads_the_postgres_one_only_in_its_factory() -> None:
    assert "rag.operations.state_postgres" not in imported_modules(state.__file__, top_level_only=True)
    assert "rag.operations.state_postgres" in imported_modules(state.__file__, top_level_only=False)
    # And the contract both build on imports neither.
    assert not imported_modules(state_contract.__file__, top_level_only=False) & {
        "rag.operations.state",
        "rag.operations.state_postgres",
    }


@pytest.mark.parametrize(
    ("module", "must_not_load"),
    [
        ("rag.operations.state_postgres", "rag.operations.state"),
        ("rag.operations.state", "rag.operations.state_postgres"),
        ("rag.operations.state_contract", "rag.operations.state"),
    ],
)
def test_each_state_module_imports_alone_in_a_fresh_interpreter(module: str, must_not_load: str) -> None:
    script = f"import sys, {module}; print({must_not_load!r} in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=neutral_cwd(), env=clean_env(), timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_both_stores_keep_the_one_contract() -> None:
    assert issubclass(state.StateStore, state_contract.SharedState)
    assert issubclass(state_postgres.PostgresStateStore, state_contract.SharedState)
    assert state.Turn is state_contract.Turn is state_postgres.Turn
