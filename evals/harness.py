"""One evaluation run: a dataset through the project's pipeline (and optionally the baselines),
summarised overall and per split, with the abstention threshold optionally recalibrated."""

from __future__ import annotations

import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding

from evals.calibrate import Calibration, calibrate, save_threshold
from evals.dataset import EvalItem, load_dataset
from evals.runner import QuestionResult, evaluate, summarise
from evals.systems import ProjectSystem, System, extractive_answerer, llamaindex_baselines
from rag.reading.documents import load_documents
from rag.service import QAService
from rag.settings import Settings

PRIMARY = "project"


@dataclass
class Outcome:
    dataset: Path
    items: list[EvalItem]
    results: dict[str, list[QuestionResult]]
    summaries: dict[str, dict[str, dict[str, Any]]]
    threshold: float
    calibration: Calibration | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    # "split / shape" -> system -> summary, for datasets whose questions carry a `shape`.
    by_shape: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)


def split_names(items: Sequence[EvalItem]) -> list[str]:
    return sorted({item.split for item in items if item.split})


def summaries_by_split(
    results: dict[str, list[QuestionResult]], items: Sequence[EvalItem], ks: Sequence[int]
) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {"all": {s: summarise(rs, ks) for s, rs in results.items()}}
    for split in split_names(items):
        out[split] = {s: summarise([r for r in rs if r.item.split == split], ks) for s, rs in results.items()}
    return out


def summaries_by_shape(
    results: dict[str, list[QuestionResult]], items: Sequence[EvalItem], ks: Sequence[int], split: str | None = None
) -> dict[str, dict[str, dict[str, Any]]]:
    """One summary per question shape (the dataset's `shape` field), optionally within one split."""
    shapes = sorted({item.shape for item in items if item.shape})
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for shape in shapes:
        out[shape] = {
            s: summarise([r for r in rs if r.item.shape == shape and (split is None or r.item.split == split)], ks)
            for s, rs in results.items()
        }
    return out


def run_harness(
    settings: Settings,
    dataset: Path,
    ks: Sequence[int] = (1, 3, 5, 10),
    compare: bool = False,
    calibrate_split: str | None = None,
    only_split: str | None = None,
    service: QAService | None = None,
    embed_model: BaseEmbedding | None = None,
    progress: bool = True,
) -> Outcome:
    """Evaluate; with `calibrate_split` set ("" = every question), choose and save the threshold first."""
    items = load_dataset(dataset)
    if only_split:
        items = [i for i in items if i.split == only_split]
        if not items:
            from evals.dataset import DatasetError

            raise DatasetError(f"no question of split {only_split!r} in {dataset}")
    service = service or QAService(settings, embed_model=embed_model)
    service.load()
    sources = {d.source: d.text for d in load_documents(settings.corpus_dir)}
    project = ProjectSystem(service)
    calibration = None
    if calibrate_split is not None:
        tuning = [i for i in items if not calibrate_split or i.split == calibrate_split] or items
        first = evaluate(project, tuning, ks, sources, progress, word_budget=None)
        calibration = calibrate([(r.run.confidence or 0.0, r.item.answerable) for r in first])
        save_threshold(settings.threshold_file, calibration, dataset.name, calibrate_split)
        extractive_answerer(service).threshold = calibration.threshold
    systems: list[System] = [project]
    if compare:
        systems += llamaindex_baselines(settings.corpus_dir, service.embed_model)
    started = time.time()
    results = {s.name: evaluate(s, items, ks, sources, progress) for s in systems}
    meta = {
        "dataset": str(dataset),
        "questions": len(items),
        "split": only_split or "all",
        "corpus": str(settings.corpus_dir),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()}, {platform.system()}, Python {platform.python_version()}",
        "seconds": round(time.time() - started, 1),
        "abstention threshold": round(extractive_answerer(service).threshold, 4),
    }
    by_shape: dict[str, dict[str, dict[str, Any]]] = {}
    for split in [None, *split_names(items)]:
        for shape, summary in summaries_by_shape(results, items, ks, split).items():
            by_shape[f"{split or 'all'} / {shape}"] = summary
    return Outcome(
        dataset,
        items,
        results,
        summaries_by_split(results, items, ks),
        extractive_answerer(service).threshold,
        calibration,
        meta,
        by_shape,
    )
