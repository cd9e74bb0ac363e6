"""Floors of the CI gate sized by how many questions each metric rests on, not by the last run.

A floor is a one-sided Wilson score bound around the measured value: with n questions a metric of
0.80 could come out lower on another draw of questions of the same kind, and by more when n is
small, so a set of 40 questions gets a lower floor than one of 180 at the same measured value.
Ceilings (`max_*` keys: the false abstention rate) take the upper bound.

    python -m evals.floors --json RUN.json --dataset NAME[.SPLIT] [--confidence 0.95] [--write]

RUN.json is what `rag eval --json` writes; without `--write` the table is printed as TOML to paste.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Any

from evals.corpora import CORPORA, ROOT
from evals.dataset import DEFAULT_DATASET
from evals.harness import PRIMARY
from evals.runner import denominator

THRESHOLDS = ROOT / "evals" / "thresholds.toml"
DATA = ROOT / "evals" / "datasets"
# Proportions (or means of values in [0, 1]) that must not fall, and rates that must not rise.
FLOORED = (
    "hit@1",
    "hit@3",
    "mrr@10",
    "hit@150w",
    "fact_recall",
    "answer_holds_evidence",
    "list_recall",
    "abstain_recall",
    "citations_valid",
    "followup_pass",
)
CEILINGED = ("false_abstention",)


@dataclass(frozen=True)
class GatedSet:
    """A dataset the gate runs: its table in thresholds.toml is `[name.split]` (`all`: every question)."""

    name: str
    dataset: Path
    split: str | None = None
    corpus: str = "guide"
    # A tune set was read question by question and rules were written from it: its floors are
    # looser (a higher confidence), a guard against regressions rather than an estimate of quality.
    tune: bool = False

    @property
    def table(self) -> str:
        return f"{self.name}.{self.split or 'all'}"

    @property
    def confidence(self) -> float:
        return 0.99 if self.tune else 0.95

    def commands(self, json_path: str, confidence: float | None = None) -> list[str]:
        """The two commands that measure the set and rewrite its floors."""
        run = f".venv/bin/rag eval --dataset {relative(self.dataset)}"
        if self.corpus != "guide":
            run += f" --corpus {relative(CORPORA[self.corpus])}"
        if self.split:
            run += f" --split {self.split}"
        floors = f".venv/bin/python -m evals.floors --json {json_path} --dataset {self.table}"
        return [f"{run} --json {json_path}", f"{floors} --confidence {confidence or self.confidence} --write"]


GATED_SETS = {
    s.name: s
    for s in (
        # Never read, each scored once before being gated (evals/corpora.py: HELD_OUT, VALIDATION).
        GatedSet("guide_blind3", DATA / "guide_blind3.jsonl"),
        GatedSet("shapes_blind2", DATA / "shapes_blind2.jsonl"),
        GatedSet("fresh", DATA / "fresh.jsonl"),
        GatedSet("fresh2", DATA / "fresh2.jsonl"),
        GatedSet("external", DATA / "external.jsonl"),
        GatedSet("18f", DATA / "18f.jsonl", split="heldout", corpus="18f"),
        # Tune sets: read question by question, rules written from them.
        GatedSet("golden", DEFAULT_DATASET, tune=True),
        GatedSet("shapes", DATA / "shapes.jsonl", tune=True),
    )
}


def relative(path: Path) -> str:
    """`path` as written from the repository root (`../shared/…` for a corpus beside it)."""
    resolved = path.resolve()
    for base, prefix in ((ROOT, ""), (ROOT.parent, "../")):
        if resolved.is_relative_to(base):
            return prefix + str(resolved.relative_to(base))
    return str(path)


def z_score(confidence: float) -> float:
    """The standard normal quantile of a one-sided bound at `confidence` (0.95 -> 1.645)."""
    if not 0.5 <= confidence < 1:
        raise ValueError(f"confidence must be in [0.5, 1), got {confidence}")
    return NormalDist().inv_cdf(confidence)


def wilson_bound(measured: float, n: int, z: float, upper: bool = False) -> float:
    """The Wilson score interval's lower (or upper) end for a proportion `measured` of `n` trials."""
    if n < 1:
        raise ValueError(f"a bound needs at least one question, got n = {n}")
    p = min(max(measured, 0.0), 1.0)
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre + spread if upper else centre - spread) / (1 + z * z / n)


@dataclass(frozen=True)
class Floor:
    key: str  # the thresholds.toml key: the metric, or `max_<metric>` for a ceiling
    limit: float
    measured: float
    n: int


def floors_for(summary: dict[str, Any], confidence: float) -> list[Floor]:
    """A floor (ceiling) for each gated metric the summary measured over at least one question."""
    z = z_score(confidence)
    floors = []
    for metric in (*FLOORED, *CEILINGED):
        value, count = summary.get(metric), summary.get(denominator(metric) or "")
        if not isinstance(value, int | float) or not isinstance(count, int) or count < 1:
            continue
        if metric in CEILINGED:
            limit = math.ceil(wilson_bound(value, count, z, upper=True) * 1000) / 1000
            floors.append(Floor(f"max_{metric}", min(limit, 1.0), value, count))
        else:
            limit = math.floor(wilson_bound(value, count, z) * 1000) / 1000
            floors.append(Floor(metric, max(limit, 0.0), value, count))
    return floors


def toml_key(key: str) -> str:
    return f'"{key}"' if not key.replace("_", "").isalnum() else key


def table_block(table: str, floors: list[Floor], confidence: float, meta: dict[str, Any], commands: list[str]) -> str:
    """The table as TOML, headed by where its numbers come from and how to make them again."""
    lines = [
        f"# -- floors of {table}: one-sided {confidence:.0%} Wilson bounds (lower; upper for max_*) from "
        f"the run of {meta.get('date', '?')} ({meta.get('questions', '?')} questions), made by:",
        *(f"#   {command}" for command in commands),
        f"[{table}]",
    ]
    lines += [f"{toml_key(f.key)} = {f.limit:.3f}  # measured {f.measured:.3f}, n = {f.n}" for f in floors]
    return "\n".join(lines)


def replace_table(text: str, table: str, block: str) -> str:
    """`text` with the table `[table]` (and the generated comment lines right above it) replaced by
    `block`; appended when absent. Comments written by hand above the generated ones stay."""
    lines = text.splitlines()
    header = f"[{table}]"
    if header not in lines:
        return text.rstrip("\n") + "\n\n" + block + "\n"
    at = lines.index(header)
    start = at
    while start > 0 and lines[start - 1].startswith("#"):
        start -= 1
    generated = [i for i in range(start, at) if lines[i].startswith(f"# -- floors of {table}:")]
    start = generated[0] if generated else at
    end = at + 1
    while end < len(lines) and lines[end].strip() and not lines[end].startswith(("[", "#")):
        end += 1
    return "\n".join([*lines[:start], *block.splitlines(), *lines[end:]]) + "\n"


def load_summary(path: Path, split: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The project's summary of `split` in a `rag eval --json` file, and the run's meta."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SystemExit(f"error: cannot read {path}: {exc}") from None
    summary = payload.get("summary", {}).get(split, {}).get(PRIMARY)
    if summary is None:
        raise SystemExit(f"error: {path} has no {PRIMARY!r} summary of split {split!r}")
    if "answerable_questions" not in summary:
        raise SystemExit(f"error: {path} holds no question counts: run `rag eval --json` again with this version")
    return summary, payload.get("meta", {})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.floors", description=__doc__.splitlines()[0])
    parser.add_argument("--json", required=True, type=Path, help="what `rag eval --json` wrote")
    parser.add_argument("--dataset", required=True, help="the table's name: NAME or NAME.SPLIT (e.g. 18f.heldout)")
    parser.add_argument("--confidence", type=float, default=0.95, help="of the one-sided bound (default 0.95)")
    parser.add_argument("--write", action="store_true", help=f"rewrite the table in {relative(THRESHOLDS)}")
    parser.add_argument("--thresholds", type=Path, default=THRESHOLDS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    name, _, split = args.dataset.partition(".")
    table = f"{name}.{split or 'all'}"
    try:
        z_score(args.confidence)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    summary, meta = load_summary(args.json, split or "all")
    gated = GATED_SETS.get(name)
    commands = (
        gated.commands(str(args.json), args.confidence)
        if gated is not None and gated.table == table
        else [f".venv/bin/python -m evals.floors --json {args.json} --dataset {table} --confidence {args.confidence}"]
    )
    block = table_block(table, floors_for(summary, args.confidence), args.confidence, meta, commands)
    if args.write:
        text = args.thresholds.read_text(encoding="utf-8") if args.thresholds.exists() else ""
        args.thresholds.write_text(replace_table(text, table, block), encoding="utf-8")
        print(f"wrote [{table}] in {args.thresholds}")
    else:
        print(block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
