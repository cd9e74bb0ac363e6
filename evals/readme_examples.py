"""The README's examples, produced by the default service: the worked example's JSON and the answers
after it are written between the README's example markers, so what the README shows is what a user
gets. `tests/test_readme.py` renders them again from the default service and compares.

    python -m evals.readme_examples          # rewrite the README's examples
    python -m evals.readme_examples --check  # exit 1 when the README differs
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from rag.models import answer_payload
from rag.operations.conversation import resolved_history
from rag.service import QAService
from rag.settings import Settings

README = Path(__file__).resolve().parent.parent / "README.md"
WORKED = "What do AI engineers earn in Seattle?"
# Conversations: a list of turns, each asked after the ones before it.
CONVERSATIONS: list[list[str]] = [
    ["What should we pay a mid-level engineer in Seattle?"],
    ["What should we pay a mid-level engineer?", "And in Seattle?"],
    ["red flags for a senior hire?", "and for juniors?"],
    ["What do AI engineers earn in Austin?", "What are the key responsibilities?"],
    ["Which platforms should we source AI engineers on?"],
    ["Do we need to require a PhD?"],
    ["How many weeks of parental leave should we offer?"],
]
START, END = "<!-- examples: start (python -m evals.readme_examples) -->", "<!-- examples: end -->"
# A query id is new for every answer: the README shows a fixed one.
QUERY_ID = re.compile(r'"query_id": "[0-9a-f]{32}"')
SHOWN_ID = '"query_id": "046b40ca891c4620ab85dc9efc2b027d"'


def render(service: QAService) -> str:
    payload = answer_payload(service.ask(WORKED))
    worked = QUERY_ID.sub(SHOWN_ID, json.dumps(payload, ensure_ascii=False, indent=4))
    blocks = []
    for turns in CONVERSATIONS:
        lines: list[str] = []
        for n, question in enumerate(turns):
            answer = service.ask(question, history=resolved_history(service, turns[:n]))
            lines.append(f"Q: {question}")
            if answer.resolved_question and answer.resolved_question != question:
                lines.append(f"   (read as: {answer.resolved_question})")
            lines.append(answer.answer)
        blocks.append("\n".join(lines))
    return "\n".join(
        [
            START,
            "```sh",
            "curl -s localhost:8000/v1/query -H 'content-type: application/json' \\",
            f'     -d \'{{"question": "{WORKED}"}}\'',
            "```",
            "",
            "```json",
            worked,
            "```",
            "",
            "More answers from the same server (a follow-up is asked after the turn above it, in one conversation):",
            "",
            "```text",
            "\n\n".join(blocks),
            "```",
            END,
        ]
    )


def shown(readme: str) -> str:
    """The README's examples block, markers included ('' when it has none)."""
    start, end = readme.find(START), readme.find(END)
    return readme[start : end + len(END)] if 0 <= start < end else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the README differs")
    args = parser.parse_args(argv)
    service = QAService(Settings())
    examples = render(service)
    readme = README.read_text(encoding="utf-8")
    if not shown(readme):
        print(f"error: {README} has no examples markers", file=sys.stderr)
        return 2
    if args.check:
        return 0 if shown(readme) == examples else 1
    README.write_text(readme.replace(shown(readme), examples), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
