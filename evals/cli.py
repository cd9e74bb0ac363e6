"""`rag eval`: run the harness from the command line, print the summary, write JSON and reports."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from evals.corpora import settings_for
from evals.dataset import DEFAULT_DATASET, DatasetError
from evals.harness import PRIMARY, run_harness
from evals.report import SHAPE_COLUMNS, summary_table, write_json, write_markdown
from rag.errors import CorpusError
from rag.index.embedding import load_embed_model
from rag.index.ingest import ingest
from rag.settings import Settings


def parse_ks(text: str) -> list[int]:
    try:
        ks = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise DatasetError(f"--k takes whole numbers separated by commas, got {text!r}") from None
    if not ks or ks[0] < 1:
        raise DatasetError(f"--k values must be at least 1, got {text!r}")
    return ks


def run_eval(args: argparse.Namespace, settings: Settings) -> int:
    dataset = Path(args.dataset) if args.dataset else DEFAULT_DATASET
    if getattr(args, "corpus", None):
        corpus = Path(args.corpus)
        if not corpus.is_dir():
            raise CorpusError(f"corpus folder {corpus} does not exist")
        settings = settings_for(corpus, settings)
        ingest(settings, lambda: load_embed_model(settings.embed_model))
    ks = parse_ks(args.k)
    outcome = run_harness(
        settings,
        dataset,
        ks,
        compare=args.compare,
        calibrate_split=("tune" if args.calibrate else None),
        only_split=args.split,
        progress=sys.stderr.isatty(),
    )
    if outcome.calibration is not None:
        print(f"abstention threshold calibrated: {outcome.calibration.threshold:.4f} -> {settings.threshold_file}")
    print(summary_table(outcome.summaries))
    if outcome.by_shape:
        print()
        print(summary_table(outcome.by_shape, SHAPE_COLUMNS))
    if args.json_out:
        write_json(Path(args.json_out), outcome.summaries, outcome.results, outcome.meta, outcome.by_shape)
        print(f"wrote {args.json_out}")
    if args.report:
        path = write_markdown(
            Path(args.report),
            f"Evaluation: {dataset.name}",
            outcome.summaries,
            outcome.results,
            PRIMARY,
            outcome.threshold,
            outcome.calibration,
            outcome.meta,
            outcome.by_shape,
        )
        print(f"wrote {path}")
    return 0
