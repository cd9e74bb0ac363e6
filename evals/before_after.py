"""Two runs of `rag eval --json` side by side, by split and by question shape: what a change did.
`python -m evals.before_after --before OLD.json --after NEW.json [--out FILE.md] [--title T]`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from evals.report import SHAPE_COLUMNS, fmt

PRIMARY = "project"


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def rows_of(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every summary of the project's system: per split ("all", "tune", …) and per "split / shape"."""
    rows = {split: systems[PRIMARY] for split, systems in run.get("summary", {}).items() if PRIMARY in systems}
    rows.update({key: systems[PRIMARY] for key, systems in run.get("by_shape", {}).items() if PRIMARY in systems})
    return rows


def table(before: dict[str, Any], after: dict[str, Any], columns: list[str] = SHAPE_COLUMNS) -> str:
    """One row per group of questions, each cell `before → after`."""
    old, new = rows_of(before), rows_of(after)
    lines = ["| questions | n | " + " | ".join(columns) + " |", "|" + "---|" * (len(columns) + 2)]
    for key in new:
        cells = [f"{fmt(old.get(key, {}).get(c))} → {fmt(new[key].get(c))}" for c in columns]
        lines.append(f"| {key} | {new[key].get('questions')} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", required=True, type=Path)
    parser.add_argument("--after", required=True, type=Path)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--title", default="Before → after")
    args = parser.parse_args()
    text = f"## {args.title}\n\n" + table(load(args.before), load(args.after)) + "\n"
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
