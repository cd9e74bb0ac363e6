"""The CI gate: each gated dataset through the served pipeline must stay above `evals/thresholds.toml`."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from evals.dataset import DEFAULT_DATASET
from evals.harness import PRIMARY, run_harness
from rag.service import QAService

ROOT = Path(__file__).resolve().parents[2]
THRESHOLDS = ROOT / "evals" / "thresholds.toml"
# The datasets the gate runs, by the name their tables carry in the thresholds file.
DATASETS = {
    "golden": DEFAULT_DATASET,
    "shapes": ROOT / "evals" / "datasets" / "shapes.jsonl",
    "shapes_blind2": ROOT / "evals" / "datasets" / "shapes_blind2.jsonl",
}


def shortfalls(
    summaries: dict[str, dict[str, dict[str, object]]], thresholds: dict[str, dict[str, float]]
) -> list[str]:
    problems = []
    for split, limits in thresholds.items():
        summary = summaries[split][PRIMARY]
        for key, limit in limits.items():
            ceiling = key.startswith("max_")
            metric = key.removeprefix("max_")
            value = summary.get(metric)
            if not isinstance(value, int | float):
                problems.append(f"{split} {metric}: not measured")
            elif (value > limit) if ceiling else (value < limit):
                relation = "above the ceiling" if ceiling else "below the floor"
                problems.append(f"{split} {metric} = {value:.3f}, {relation} {limit}")
    return problems


@pytest.mark.slow
@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_quality_holds(service: QAService, dataset: str) -> None:
    thresholds = tomllib.loads(THRESHOLDS.read_text(encoding="utf-8"))[dataset]
    outcome = run_harness(service.settings, DATASETS[dataset], service=service, progress=False)
    problems = shortfalls(outcome.summaries, thresholds)
    assert not problems, f"{dataset}: quality fell: " + "; ".join(problems)


def test_every_gated_dataset_has_thresholds() -> None:
    assert set(tomllib.loads(THRESHOLDS.read_text(encoding="utf-8"))) == set(DATASETS)


def test_gate_names_the_metric_and_value() -> None:
    summaries = {"all": {PRIMARY: {"hit@1": 0.5, "words@5": 120.0}}}
    problems = shortfalls(summaries, {"all": {"hit@1": 0.6, "max_words@5": 100, "mrr@10": 0.5}})
    assert problems == [
        "all hit@1 = 0.500, below the floor 0.6",
        "all words@5 = 120.000, above the ceiling 100",
        "all mrr@10: not measured",
    ]
