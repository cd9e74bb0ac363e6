"""The learning curve: what the learned parts are worth on held-out corpora as the number of training
questions grows. `python -m evals.learning_curve [--sizes 250,500,1000,2000,all]`.

For each size, the ranker (evals.train_ranker) and the abstention model (evals.fit_abstention) are
fitted on that many questions drawn at random (seeded) from every set they may learn from (the read
sets and the questions written over the training corpora), and measured on what neither ever learns
from: the 18F held-out split, the guide's blind sets, and the validation corpus (osiolabs). Ranker:
hit@1 and MRR@10 of its candidates; abstention: unanswerable declined and answerable declined at
the threshold chosen out of fold on the questions it was fitted on. Candidates and signals are those
of the shipped ranker (kept in .cache/, computed once)."""

from __future__ import annotations

import argparse
import os
import sys
from functools import partial
from pathlib import Path

import numpy as np

from evals import fit_abstention, train_ranker
from evals.corpora import HELD_OUT, ROOT
from rag.answering.abstaining import SIGNALS

REPORT = ROOT / "evals" / "reports" / "learning-curve.md"


def ranker_rows(sizes: list[int | None], cache: Path, exclude: tuple[str, ...]) -> list[str]:
    sets = train_ranker.training_sets("all", exclude)
    groups = [g for g in train_ranker.collect(sets, cache / "ranker") if g.relevant.any()]
    held = [g for g in train_ranker.collect(HELD_OUT, cache / "ranker") if g.relevant.any()]
    corpora = sorted({g.corpus for g in held})
    rows = []
    for size in sizes:
        chosen = train_ranker.sample(groups, size)
        weights = train_ranker.fit(chosen)
        cells = []
        for corpus in corpora:
            q = train_ranker.quality(
                [g for g in held if g.corpus == corpus], partial(train_ranker.linear_scores, weights)
            )
            cells.append(f"{q['hit@1']:.3f} / {q['mrr@10']:.3f}")
        rows.append(f"| {len(chosen)} | " + " | ".join(cells) + " |")
    header = "| questions | " + " | ".join(f"{c} hit@1 / MRR@10" for c in corpora) + " |"
    return [header, "|---|" + "---|" * len(corpora), *rows]


def abstention_rows(sizes: list[int | None], cache: Path, exclude: tuple[str, ...], signals: int) -> list[str]:
    x, y, corpora = fit_abstention.collect(train_ranker.training_sets("all", exclude), cache / "abstention")
    hx, hy, hc = fit_abstention.collect(HELD_OUT, cache / "abstention")
    # The first `signals` signals only: what the abstention model is worth without the later ones.
    x, hx = x[:, :signals], hx[:, :signals]
    names = sorted(set(hc))
    rows = []
    for size in sizes:
        if size is not None and size < len(y):
            keep = np.sort(np.random.default_rng(23).choice(len(y), size=size, replace=False))
        else:
            keep = np.arange(len(y))
        xs, ys, cs = x[keep], y[keep], [corpora[i] for i in keep]
        w, b, threshold, _ = fit_abstention.fit_with_threshold(xs, ys, cs)
        declined = fit_abstention.declined_by_corpus(fit_abstention.probabilities(hx, w, b), hy, hc, threshold)
        cells = [
            f"{declined[c]['unanswerable_declined']:.3f} / {declined[c]['answerable_declined']:.3f}" for c in names
        ]
        rows.append(f"| {len(ys)} | " + " | ".join(cells) + " |")
    header = "| questions | " + " | ".join(f"{c} unanswerable / answerable declined" for c in names) + " |"
    return [header, "|---|" + "---|" * len(names), *rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="250,500,1000,2000,all")
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache")
    parser.add_argument("--out", type=Path, default=REPORT)
    parser.add_argument("--reader", choices=("on", "off"), default="on", help="RAG_READER for the candidates")
    parser.add_argument("--signals", type=int, default=len(SIGNALS), help="use the first N abstention signals")
    parser.add_argument("--exclude", default=",".join(train_ranker.READER_CORPORA), help="corpora not fitted on")
    parser.add_argument("--title", default="")
    args = parser.parse_args(argv)
    os.environ["RAG_READER"] = args.reader
    sizes = [None if s == "all" else int(s) for s in args.sizes.split(",")]
    exclude = tuple(c for c in args.exclude.split(",") if c)
    command = " ".join(["python -m evals.learning_curve", *(argv if argv is not None else sys.argv[1:])])
    lines = [
        f"# Learning curve{': ' + args.title if args.title else ''}",
        "",
        f"`{command}`: reader {args.reader}, the first {args.signals} abstention signals "
        f"({', '.join(SIGNALS[: args.signals][-3:])} last), not fitted on: {', '.join(exclude) or 'none'}. "
        + (__doc__ or "").split("\n\n", 1)[1].replace("\n", " "),
        "",
        "## Ranker (rag/ranking/weights.json)",
        "",
        *ranker_rows(sizes, args.cache, exclude),
        "",
        "## Abstention (rag/answering/abstention.json)",
        "",
        *abstention_rows(sizes, args.cache, exclude, args.signals),
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
