"""Checks a training-question file written over one of the training corpora
(`../shared/corpora/training/<corpus>/pages/`) before anything learns from it.

    python -m evals.validate_training evals/training/clef-handbook.jsonl --corpus clef-handbook

Every line must parse as a dataset item (the contract's format), ids must be unique, `shape`,
`category` and `style` must be known values, every evidence string must be verbatim text of the
named page (whitespace collapsed, case folded) and free of Markdown markup (the reader quotes plain
text), every fact must lie inside an evidence string, and a near miss carries no evidence. The
summary gives the shares the training set is asked to hold (near misses, messy phrasing, shapes).
Exit status 1 with one line per problem when anything fails."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

from evals.dataset import DatasetError, parse_item
from evals.shared import shared_folder

SHAPES = {"fact", "list", "section", "table", "comparison", "procedure", "yesno"}
CATEGORIES = {"lookup", "near-miss", "multi-part", "list", "procedure", "yesno", "comparison", "table"}
STYLES = {"clean", "messy"}
# Markup the Markdown reader removes from quotes: evidence holding it never matches a chunk's text.
MARKUP = re.compile(r"\*\*|__|\]\(|`|^#|\|\s|<[a-z/]|\[\^|!\[")
SPACE = re.compile(r"\s+")


def training_root() -> Path:
    return shared_folder() / "corpora" / "training"


def fold(text: str) -> str:
    return SPACE.sub(" ", text).strip().casefold()


def check(path: Path, corpus: str) -> tuple[list[str], Counter[str]]:
    pages_dir = training_root() / corpus / "pages"
    if not pages_dir.is_dir():
        return [f"corpus folder not found: {pages_dir}"], Counter()
    pages = {p.name: fold(p.read_text(encoding="utf-8")) for p in pages_dir.iterdir() if p.is_file()}
    problems: list[str] = []
    counts: Counter[str] = Counter()
    seen: set[str] = set()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path.name}:{n}"
        try:
            raw = json.loads(line)
            item = parse_item(raw, where)
        except (json.JSONDecodeError, DatasetError) as exc:
            problems.append(f"{where}: {exc}")
            continue
        if item.id in seen:
            problems.append(f"{where}: duplicate id {item.id!r}")
        seen.add(item.id)
        shape, category, style = item.shape, item.category, raw.get("style")
        if shape not in SHAPES:
            problems.append(f"{where}: shape {shape!r} not one of {sorted(SHAPES)}")
        if category not in CATEGORIES:
            problems.append(f"{where}: category {category!r} not one of {sorted(CATEGORIES)}")
        if style not in STYLES:
            problems.append(f"{where}: style {style!r} not one of {sorted(STYLES)}")
        page = raw.get("page")
        if not isinstance(page, str) or page not in pages:
            problems.append(f"{where}: page {page!r} is not a file of {pages_dir}")
            continue
        if not item.answerable:
            if item.evidence or item.facts:
                problems.append(f"{where}: an unanswerable question has no evidence and no facts")
            if category != "near-miss":
                problems.append(f"{where}: an unanswerable question is a near-miss (category)")
        else:
            if category == "near-miss":
                problems.append(f"{where}: a near-miss is unanswerable")
            if not item.evidence:
                problems.append(f"{where}: an answerable question needs evidence")
            if not item.facts:
                problems.append(f"{where}: an answerable question needs facts")
            for ev in item.evidence:
                if len(ev.split()) < 3:
                    problems.append(f"{where}: evidence too short to be specific: {ev!r}")
                if MARKUP.search(ev):
                    problems.append(f"{where}: evidence holds Markdown markup: {ev!r}")
                if fold(ev) not in pages[page]:
                    problems.append(f"{where}: evidence not found verbatim in {page}: {ev!r}")
            for fact in item.facts:
                if not any(fold(fact) in fold(ev) for ev in item.evidence):
                    problems.append(f"{where}: fact not inside any evidence string: {fact!r}")
        counts["questions"] += 1
        counts[f"shape:{shape}"] += 1
        counts[f"style:{style}"] += 1
        counts["near-miss" if not item.answerable else "answerable"] += 1
    return problems, counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--corpus", required=True, help="folder name under ../shared/corpora/training/")
    args = parser.parse_args(argv)
    if not args.file.is_file():
        print(f"error: {args.file} is not a file", file=sys.stderr)
        return 2
    problems, counts = check(args.file, args.corpus)
    for problem in problems:
        print(problem)
    total = counts["questions"] or 1
    print(
        f"{counts['questions']} questions, {len(problems)} problems; "
        f"near misses {counts['near-miss'] / total:.0%} (want >= 25%), "
        f"messy {counts['style:messy'] / total:.0%} (want >= 30%); "
        + ", ".join(f"{k[6:]} {v}" for k, v in sorted(counts.items()) if k.startswith("shape:"))
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
