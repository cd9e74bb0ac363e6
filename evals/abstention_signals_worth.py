"""What each group of abstention signals is worth on held-out corpora, from one collection: the
model fitted (threshold out of fold, corpus by corpus) on the same questions with the signals before
issue 23, with the signals that read what is asked, with the reader's, and with all.
`python -m evals.abstention_signals_worth [--out evals/reports/abstention-signals.md]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from evals import fit_abstention, train_ranker
from evals.calibrate import MAX_FALSE_ABSTENTION
from evals.corpora import HELD_OUT, ROOT
from rag.answering.abstaining import SIGNALS

BEFORE = SIGNALS.index("figure_missing") + 1
VARIANTS = {
    "signals before issue 23": list(range(BEFORE)),
    "+ the reader": [*range(BEFORE), SIGNALS.index("reader_best")],
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "abstention")
    parser.add_argument("--sets", choices=("read", "training", "all"), default="all")
    parser.add_argument("--out", type=Path, default=ROOT / "evals" / "reports" / "abstention-signals.md")
    args = parser.parse_args(argv)
    sets = train_ranker.training_sets(args.sets)
    x, y, corpora = fit_abstention.collect(sets, args.cache)
    hx, hy, hc = fit_abstention.collect(HELD_OUT, args.cache)
    names = sorted(set(hc))
    lines = [
        "# Abstention: what each group of signals is worth on held-out corpora",
        "",
        f"`python -m evals.abstention_signals_worth`: fitted on {', '.join(sets)} ({len(y)} questions; not the "
        "corpora the reader learned from), threshold chosen out of fold corpus by corpus for at most "
        f"{MAX_FALSE_ABSTENTION:.0%} answerable declined; measured on the held-out sets. Cells: unanswerable "
        "declined / answerable declined.",
        "",
        "| signals | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for name, columns in VARIANTS.items():
        xs, hs = x[:, columns], hx[:, columns]
        w, b, threshold, _ = fit_abstention.fit_with_threshold(xs, y, corpora)
        declined = fit_abstention.declined_by_corpus(fit_abstention.probabilities(hs, w, b), hy, hc, threshold)
        cells = [
            f"{declined[c]['unanswerable_declined']:.3f} / {declined[c]['answerable_declined']:.3f}" for c in names
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
