"""Ablation: each retrieval and answering lever switched off in turn, measured on the same index
and dataset in one run, so every lever's worth is a number. `python -m evals.ablation`."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from evals.dataset import DEFAULT_DATASET, load_dataset
from evals.runner import evaluate, summarise
from evals.systems import ProjectSystem, extractive_answerer
from rag.answering import AnswerConfig
from rag.documents import load_documents
from rag.embedding import load_embed_model
from rag.retrieval import RetrievalConfig
from rag.service import QAService
from rag.settings import Settings

# Each variant changes one lever from the shipped configuration.
VARIANTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "shipped": ({}, {}),
    "no common-term stripping": ({"strip_common": False}, {}),
    "no synonyms": ({"synonyms": False}, {}),
    "synonyms of unseen words at the usual weight (0.4)": ({"unseen_synonym_weight": 0.4}, {}),
    "dense query in the asker's words (not the guide's)": ({"guide_words": False}, {}),
    "follow-ups without counterparts": ({"counterparts": False}, {}),
    "no counterpart for a named alternative": ({"named_alternatives": False}, {}),
    "previews ranked as any section (no step-down)": ({"preview_weight": 1.0}, {}),
    "summaries ranked as any section (no step-down)": ({"summary_weight": 1.0}, {}),
    "no superlatives over tables": ({"superlatives": False}, {}),
    "near-tied list items in score order (not the guide's)": ({"list_order_ratio": 1.0}, {}),
    "set-aside phrases searched for ('besides location, …')": ({"set_asides": False}, {}),
    "years of experience not read as a level ('4 yrs' -> Mid-Level)": ({"levels_for_years": False}, {}),
    "no heading/context words in BM25": ({"section_weight": 0.0}, {}),
    "dense only": ({"bm25_weight": 0.0}, {}),
    "reciprocal-rank fusion instead of linear": ({"fusion": "rrf", "bm25_weight": 1.0}, {}),
    "BM25 only": ({"dense_weight": 0.0}, {}),
    "no per-part retrieval": ({"split_parts": False}, {}),
    "one citation (no runners-up)": ({}, {"follow_ratio": 9.0, "sibling_ratio": 9.0}),
    "up to three citations (not two)": ({}, {"max_citations": 3}),
    "looser runners-up (0.85)": ({}, {"follow_ratio": 0.85, "sibling_ratio": 0.85}),
    "runners-up from other sections at 0.9": ({}, {"follow_ratio": 0.9}),
    "runners-up that match no new word of the question too": ({}, {"new_words_only": False}),
    "a question for a figure answered without one": ({}, {"figures_or_nothing": False}),
    "names the guide never mentions not declined ('Miami', '401(k)')": ({"decline_unknown_names": False}, {}),
    "topics the guide only promises not declined ('legal')": ({"decline_promised_only": False}, {}),
    "pay of roles the guide never pays not declined ('data scientist')": ({"decline_unpaid_roles": False}, {}),
    "no passage per unanswered constraint ('mid-level … in Seattle')": ({"constraint_parts": False}, {}),
    "no answer shapes (passages as before: no whole lists or parts)": ({}, {"shapes": False}),
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


def run(variants: dict[str, tuple[dict[str, Any], dict[str, Any]]], dataset: Path, splits: list[str]) -> str:
    settings = Settings()
    embed_model = load_embed_model(settings.embed_model)
    items = load_dataset(dataset)
    ks = [1, 3, 5, 10]
    rows = []
    for name, (retrieval, answering) in variants.items():
        service = QAService(settings, embed_model=embed_model, retrieval_config=RetrievalConfig(**retrieval))
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
    args = parser.parse_args()
    variants = VARIANTS if not args.only else {k: VARIANTS[k] for k in args.only.split(",")}
    table = run(variants, Path(args.dataset), args.splits.split(","))
    print(table)
    if args.out:
        Path(args.out).write_text("# Ablation\n\n" + table + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
