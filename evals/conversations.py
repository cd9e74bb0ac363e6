"""Conversations: does a later turn stand on its own or build on the turns before it, and does its
answer show it? Scores a set of turns written in the dataset contract with `follows` (the turn before)
and `turn` ("first", "standalone" or "dependent"), asked in order as a client that keeps the
conversation would (each turn after the earlier ones, resolved as the service stores them).

    python -m evals.conversations evals/datasets/conversations_guide.jsonl
    python -m evals.conversations evals/datasets/conversations_18f.jsonl --corpus ../shared/corpora/18f-handbook/pages

- standalone turns: the share answered as on their own (the same citations as the question asked
  alone), and the share left as asked (not rewritten);
- dependent turns: the share read as dependent (rewritten), whose answer quotes every evidence string
  (or, for "any", one), and whose facts all appear; an unanswerable one should be declined.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

from evals.corpora import service_for
from evals.dataset import EvalItem, load_dataset
from evals.metrics import normalize
from rag.index.embedding import load_embed_model
from rag.operations.conversation import resolved_history
from rag.service import QAService
from rag.settings import Settings


def holds(answer_text: str, quotes: list[str], item: EvalItem) -> tuple[bool, bool]:
    """Whether the answer quotes the evidence (all of it in "all" mode) and states every fact."""
    joined = normalize(" ".join(quotes))
    found = [normalize(e) in joined for e in item.evidence]
    evidence = all(found) if item.evidence_mode == "all" else any(found)
    text = normalize(answer_text)
    return evidence, all(normalize(f) in text for f in item.facts)


def score(service: QAService, items: list[EvalItem]) -> tuple[dict[str, float], list[dict[str, object]]]:
    by_id = {item.id: item for item in items}
    tally: dict[str, list[bool]] = defaultdict(list)
    rows: list[dict[str, object]] = []
    for item in items:
        kind = str(item.extra.get("turn", "first"))
        chain: list[str] = []
        current = item
        while current.follows:
            current = by_id[current.follows]
            chain.append(current.question)
        history = resolved_history(service, list(reversed(chain)))
        answer = service.ask(item.question, history=history)
        quotes = [c.quote for c in answer.citations]
        rewritten = answer.resolved_question != item.question
        row: dict[str, object] = {"id": item.id, "turn": kind, "resolved": answer.resolved_question}
        if kind == "standalone":
            alone = service.ask(item.question)
            same = [c.chunk_id for c in alone.citations] == [c.chunk_id for c in answer.citations]
            tally["standalone: answered as on its own"].append(same and alone.answerable == answer.answerable)
            tally["standalone: left as asked"].append(not rewritten)
            row["as_alone"] = same
        if kind == "dependent":
            tally["dependent: read as dependent"].append(rewritten)
            if item.answerable:
                evidence, facts = holds(answer.answer, quotes, item)
                tally["dependent: evidence quoted"].append(evidence)
                tally["dependent: every fact"].append(facts)
                tally["dependent: answered"].append(answer.answerable)
                row["evidence"], row["facts"] = evidence, facts
            else:
                tally["dependent, unanswerable: declined"].append(not answer.answerable)
        if kind in ("standalone", "first") and item.answerable:
            evidence, facts = holds(answer.answer, quotes, item)
            tally[f"{kind}: evidence quoted"].append(evidence)
        rows.append(row)
    return {name: sum(v) / len(v) for name, v in tally.items()} | {
        f"n {name}": float(len(v)) for name, v in tally.items()
    }, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--corpus", type=Path, default=None, help="the documents the set is about")
    parser.add_argument("--rows", type=Path, default=None, help="write each turn's resolution here (JSONL)")
    args = parser.parse_args(argv)
    settings = Settings()
    embed_model = load_embed_model(settings.embed_model)
    service = service_for(args.corpus or settings.corpus_dir, embed_model, None, settings)
    summary, rows = score(service, load_dataset(args.dataset))
    for name in sorted(k for k in summary if not k.startswith("n ")):
        print(f"{name:45s} {summary[name]:.3f}  (n={int(summary['n ' + name])})")
    if args.rows:
        args.rows.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
