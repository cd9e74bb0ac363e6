"""Answers before and after a change, side by side, for the first N questions of a set (by id, not
chosen): `python -m evals.example_answers BEFORE.json AFTER.json [--n 10] [--title T]`, where both are
`rag eval --json` records of the same set. Each answer is followed by how many of the question's
evidence strings it quotes, or whether it declined."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def records(path: Path) -> dict[str, dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {r["id"]: r for r in data["questions"]["project"]}


def verdict(record: dict[str, Any]) -> str:
    if record.get("abstained"):
        return "declined" + ("" if not record["answerable"] else " (the pages answer it)")
    if not record["answerable"]:
        return "answered (the pages do not answer it)"
    quoted = record.get("evidence_quoted") or []
    return f"quotes {sum(quoted)} of {len(quoted)} evidence strings"


def quoted(answer: str) -> str:
    return "\n".join(f"    {line}" for line in (answer or "").splitlines()[:14])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--title", default="")
    args = parser.parse_args(argv)
    before, after = records(args.before), records(args.after)
    lines = [f"## {args.title}", ""] if args.title else []
    for key in sorted(before, key=lambda k: (len(k), k))[: args.n]:
        b, a = before[key], after[key]
        lines += [
            f"**{key}** — {b['question']}",
            "",
            f"- before ({verdict(b)}):",
            "",
            quoted(b.get("answer", "")),
            "",
            f"- after ({verdict(a)}):",
            "",
            quoted(a.get("answer", "")),
            "",
        ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
