"""Writing a benchmark's report: Markdown for people and JSON with every figure, side by side in
`evals/reports/bench/`, and the Markdown printed too."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from evals.bench.machine import NOISE_NOTE, Machine

REPORTS = Path(__file__).resolve().parents[1] / "reports" / "bench"


def write_report(
    name: str, title: str, machine: Machine, body: list[str], data: dict[str, Any], folder: Path = REPORTS
) -> Path:
    """`<folder>/<name>.md` and `<name>.json`; returns the Markdown path."""
    # The module that ran (a report may be named otherwise: `scale --name scale-latency`).
    module = Path(sys.argv[0]).stem if sys.argv and sys.argv[0].endswith(".py") else name
    command = " ".join(["python -m", f"evals.bench.{module}", *sys.argv[1:]])
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        f"# {title}",
        "",
        f"Machine: {machine.describe()}; load average {load} at the end.",
        "",
        NOISE_NOTE,
        "",
        *body,
        "",
        f"Made by `{command}`.",
    ]
    folder.mkdir(parents=True, exist_ok=True)
    markdown = folder / f"{name}.md"
    markdown.write_text("\n".join(lines) + "\n", encoding="utf-8")
    payload = {"benchmark": name, "machine": machine.as_dict(), "load_at_end": load, **data}
    (folder / f"{name}.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print("\n".join(lines))
    print(f"\nwritten: {markdown}")
    return markdown
