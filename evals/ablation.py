"""Ablation: each retrieval and answering lever switched off in turn, measured on the same index
and dataset in one run, so every lever's worth is a number. `python -m evals.ablation`."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from evals.corpora import settings_for
from evals.dataset import DEFAULT_DATASET, load_dataset
from evals.runner import evaluate, summarise
from evals.systems import ProjectSystem, extractive_answerer
from rag.answering.extractive import AnswerConfig
from rag.index.embedding import load_embed_model
from rag.index.ingest import ingest
from rag.ranking.retrieval import RetrievalConfig
from rag.reading.documents import load_documents
from rag.service import QAService
from rag.settings import Settings

# Each variant switches one live lever of the shipped configuration off. The rules retired in issue 17
# were deleted in issue 22 (git keeps them; their rows are in evals/reports/ablation-corpora/).
VARIANTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "shipped": ({}, {}),
    "no common-term stripping": ({"strip_common": False}, {}),
    "no domain synonyms": ({"synonyms": False}, {}),
    "dense query in the asker's words (not the domain's)": ({"guide_words": False}, {}),
    "no per-part retrieval": ({"split_parts": False}, {}),
    "no passage per named alternative of another kind": ({"each_named": False}, {}),
    "no answer shapes": ({}, {"shapes": False}),
    "abstention on best similarity alone (no model)": ({}, {"similarity_only": True}),
    "no hard decline of a figure asked for and none quoted": ({}, {"figures_or_nothing": False}),
    "paragraphs cut at sentence ends quoted by their best piece": ({}, {"whole_paragraph_words": 0}),
}

COLUMNS = [
    "hit@1",
    "hit@3",
    "mrr@10",
    "words@5",
    "fact_recall",
    "citation_support",
    "answer_holds_evidence",
    "list_recall",
    "answer_words_p50",
    "abstain_recall",
    "false_abstention",
]


# The similarity threshold calibrated on the golden tune split before the abstention model (2026-11-27).
SIMILARITY_THRESHOLD = 0.254724


def run(
    variants: dict[str, tuple[dict[str, Any], dict[str, Any]]],
    dataset: Path,
    splits: list[str],
    corpus: Path | None = None,
) -> str:
    settings = Settings()
    embed_model = load_embed_model(settings.embed_model)
    if corpus is not None:
        settings = settings_for(corpus, settings)
        ingest(settings, embed_model)
    items = load_dataset(dataset)
    ks = [1, 3, 5, 10]
    rows = []
    for name, (retrieval, answering) in variants.items():
        service = QAService(settings, embed_model=embed_model, retrieval_config=RetrievalConfig(**retrieval))
        answering = dict(answering)
        if answering.pop("similarity_only", False):
            service.abstention = None
            extractive_answerer(service).threshold = SIMILARITY_THRESHOLD
        extractive_answerer(service).config = dataclasses.replace(AnswerConfig(), **answering)
        service.load()
        sources = {d.source: d.text for d in load_documents(settings.corpus_dir)}
        results = evaluate(ProjectSystem(service), items, ks, sources, progress=sys.stderr.isatty())
        for split in splits:
            chosen = [r for r in results if split == "all" or r.item.split == split]
            summary = summarise(chosen, ks)
            rows.append(f"| {name} | {split} | " + " | ".join(_fmt(summary.get(c)) for c in COLUMNS) + " |")
    header = "| variant | split | " + " | ".join(COLUMNS) + " |\n|" + "---|" * (len(COLUMNS) + 2)
    return header + "\n" + "\n".join(rows)


def _fmt(value: object) -> str:
    if value is None:
        return "—"
    return f"{value:.3f}" if isinstance(value, float) and abs(value) < 10 else str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", default=str(DEFAULT_DATASET))
    parser.add_argument("--splits", default="tune,heldout")
    parser.add_argument("--only", default=None, help="comma-separated variant names")
    parser.add_argument("--out", default=None, help="also write the table to this Markdown file")
    parser.add_argument(
        "--corpus", default=None, help="the documents the dataset is about (default: the configured corpus)"
    )
    args = parser.parse_args()
    variants = VARIANTS if not args.only else {k: VARIANTS[k] for k in args.only.split(",")}
    table = run(variants, Path(args.dataset), args.splits.split(","), Path(args.corpus) if args.corpus else None)
    print(table)
    if args.out:
        command = " ".join(["python -m evals.ablation", *sys.argv[1:]])
        Path(args.out).write_text(f"# Ablation\n\n`{command}`\n\n" + table + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
