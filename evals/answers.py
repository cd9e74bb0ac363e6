"""Answers to a list of questions, to read a change by eye: `python -m evals.answers QUESTIONS.txt --json
OUT.json` records them (one question a line; a line starting "+ " follows the line before it), and
`python -m evals.answers --compare BEFORE.json AFTER.json --out FILE.md` puts two records side by side.
Run the first at two commits (for instance from a `git worktree` of the earlier one, with `PYTHONPATH`
pointing at it and `RAG_INDEX_DIR` at the same index) to see what a change did to each answer."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def chains(lines: list[str]) -> list[list[str]]:
    """Questions grouped into conversations: a "+ " line is a follow-up of the line before it."""
    grouped: list[list[str]] = []
    for line in (raw.strip() for raw in lines):
        if not line:
            continue
        if line.startswith("+ ") and grouped:
            grouped[-1].append(line[2:].strip())
        else:
            grouped.append([line])
    return grouped


def record(questions: Path) -> dict[str, dict[str, Any]]:
    from rag.service import QAService
    from rag.settings import Settings

    service = QAService(Settings())
    service.load()
    answers: dict[str, dict[str, Any]] = {}
    for chain in chains(questions.read_text(encoding="utf-8").splitlines()):
        history: list[str] = []
        for question in chain:
            answer = service.ask(question, history=list(history))
            history.append(question)
            answers[" → ".join(history)] = {
                "answer": answer.answer,
                "words": len(answer.answer.split()),
                "citations": len(answer.citations),
                "shape": getattr(answer, "shape", None),
            }
    return answers


def side_by_side(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]], title: str) -> str:
    lines = [f"# {title}", ""]
    for number, (asked, now) in enumerate(after.items(), start=1):
        then = before.get(asked)
        lines += [f"## {number}. {asked}", ""]
        if then is not None:
            lines += [f"**Before** ({then['words']} words, {then['citations']} citations):", "", "```text"]
            lines += [then["answer"], "```", ""]
        lines += [f"**After** (shape `{now['shape']}`, {now['words']} words, {now['citations']} citations):", ""]
        lines += ["```text", now["answer"], "```", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("questions", nargs="?", type=Path, help="a text file, one question a line")
    parser.add_argument("--json", dest="json_out", type=Path, help="write the answers here")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    parser.add_argument("--out", type=Path, help="with --compare: the Markdown file to write")
    parser.add_argument("--title", default="Answers before and after")
    args = parser.parse_args()
    if args.compare:
        before, after = (json.loads(p.read_text(encoding="utf-8")) for p in args.compare)
        text = side_by_side(before, after, args.title)
        if args.out:
            args.out.write_text(text + "\n", encoding="utf-8")
        print(text)
        return
    if args.questions is None:
        parser.error("give a questions file, or --compare BEFORE AFTER")
    answers = record(args.questions)
    payload = json.dumps(answers, indent=1, ensure_ascii=False)
    if args.json_out:
        args.json_out.write_text(payload + "\n", encoding="utf-8")
    print(payload)


if __name__ == "__main__":
    main()
