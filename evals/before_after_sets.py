"""One table of the sets scored by evals/issue23_sets.sh, before and after: `python -m
evals.before_after_sets evals/reports/issue23/before evals/reports/issue23/after`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

METRICS = (
    "hit@1",
    "hit@150w",
    "fact_recall",
    "answer_holds_evidence",
    "list_recall",
    "abstain_recall",
    "false_abstention",
    "citation_support",
    "answer_words_p50",
)


def summary(path: Path) -> dict[str, float]:
    data = json.loads(path.read_text(encoding="utf-8"))
    project = data["summary"]["all"]["project"]
    return {m: project.get(m) for m in METRICS} | {"questions": project.get("questions")}


def cell(before: float | None, after: float | None) -> str:
    if before is None or after is None:
        return "—"
    return f"{before:.3f} → **{after:.3f}**" if abs(after - before) >= 0.0005 else f"{before:.3f}"


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    before, after = Path(args[0]), Path(args[1])
    lines = [
        "| set | n | " + " | ".join(f"{m} before → after" for m in METRICS) + " |",
        "|---|---|" + "---|" * len(METRICS),
    ]
    for path in sorted(before.glob("*.json")):
        if not (after / path.name).is_file():
            continue
        b, a = summary(path), summary(after / path.name)
        cells = " | ".join(cell(b[m], a[m]) for m in METRICS)
        lines.append(f"| {path.stem} | {b['questions']} | {cells} |")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
