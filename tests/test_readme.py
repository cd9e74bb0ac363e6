"""The README's settings table and command table say what the code does: each default it states is the
default of `rag.settings.Settings`, and each option of `rag ask` / `rag retrieve` is in the table."""

from __future__ import annotations

import re

import pytest

from rag.cli import build_parser
from rag.settings import Settings
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def table_rows(heading: str) -> list[list[str]]:
    section = README.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.strip().strip("|").split(" | ") for line in section.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in row] for row in rows[1:] if not set(row[0]) <= {"-", " "}]


def stated_defaults() -> list[tuple[str, str]]:
    """(variable, default as written) for every row that gives one default per variable."""
    pairs = []
    for names_cell, _, defaults_cell in (row for row in table_rows("Settings") if len(row) == 3):
        names = re.findall(r"`([A-Z_]+)`", names_cell)
        defaults = [d.strip().strip("`") for d in defaults_cell.split(", ")]
        if len(names) == len(defaults):
            pairs.extend(zip(names, defaults))
    return pairs


def code_default(name: str) -> object:
    field = next(f for f in Settings.model_fields.values() if f.alias == name)
    return field.get_default(call_default_factory=True)


def test_the_settings_table_is_read() -> None:
    names = [name for name, _ in stated_defaults()]
    assert {"RAG_MAX_BODY_BYTES", "RAG_TOP_K", "RAG_PORT", "RAG_CORPUS_DIR"} <= set(names)


@pytest.mark.parametrize(("name", "stated"), stated_defaults())
def test_each_stated_default_is_the_codes(name: str, stated: str) -> None:
    if not any(f.alias == name for f in Settings.model_fields.values()):
        pytest.skip(f"{name} is not a setting of rag.settings")
    actual = code_default(name)
    if stated.startswith("unset"):
        assert actual in (None, []), (name, actual)
    elif isinstance(actual, bool | int | float):
        assert float(stated) == float(actual), (name, stated, actual)
    elif actual is not None and " " not in stated:
        assert str(actual).endswith(stated), (name, stated, actual)


@pytest.mark.parametrize("command", ["ask", "retrieve"])
def test_every_option_of_a_command_is_in_the_command_table(command: str) -> None:
    row = next(r[0] for r in table_rows("Command line") if r[0].startswith(f"`rag {command} "))
    subcommands = next(a for a in build_parser()._actions if a.dest == "command").choices  # type: ignore[attr-defined]
    options = [o for action in subcommands[command]._actions for o in action.option_strings if o.startswith("--")]
    missing = [o for o in options if o != "--help" and o not in row]
    assert missing == [], f"README's `rag {command}` row lacks {missing}"


@pytest.mark.slow
def test_the_examples_are_what_the_default_service_answers(service) -> None:  # type: ignore[no-untyped-def]
    """The README's worked example and answers are the default service's output, as
    `python -m evals.readme_examples` writes them (run it after a change that moves an answer)."""
    from evals.readme_examples import render, shown

    assert shown(README), "the README has lost its example markers"
    assert shown(README) == render(service)
