"""The CI gate: each gated dataset through the served pipeline must stay above `evals/thresholds.toml`,
whose floors are sized by each set's number of questions (evals/floors.py)."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding

from evals.corpora import CORPORA
from evals.floors import GATED_SETS, THRESHOLDS, GatedSet
from evals.harness import PRIMARY, Outcome, run_harness
from evals.runner import denominator
from rag.service import QAService


def thresholds() -> dict[str, dict[str, dict[str, float]]]:
    return tomllib.loads(THRESHOLDS.read_text(encoding="utf-8"))


def shortfalls(summaries: dict[str, dict[str, dict[str, Any]]], thresholds: dict[str, dict[str, float]]) -> list[str]:
    """Every metric below its floor (or above its ceiling), with what was measured and over how many."""
    problems = []
    for split, limits in thresholds.items():
        summary = summaries[split][PRIMARY]
        for key, limit in limits.items():
            ceiling = key.startswith("max_")
            metric = key.removeprefix("max_")
            value = summary.get(metric)
            count = summary.get(denominator(metric) or "")
            over = f" (n = {count})" if isinstance(count, int) else ""
            if not isinstance(value, int | float):
                problems.append(f"{split} {metric}: not measured")
            elif (value > limit) if ceiling else (value < limit):
                relation = "above the ceiling" if ceiling else "below the floor"
                problems.append(f"{split} {metric} = {value:.3f}{over}, {relation} {limit}")
    return problems


@pytest.fixture(scope="session")
def handbook_service(request: pytest.FixtureRequest, embed_model: BaseEmbedding) -> QAService:
    """The 18F handbook pages over the session's index of them (tests/conftest.py); the gate fails,
    not skips, when they are missing."""
    if not CORPORA["18f"].is_dir():
        pytest.fail(f"the 18F corpus of the gate is missing: expected at {CORPORA['18f']}")
    service = QAService(request.getfixturevalue("handbook_settings"), embed_model=embed_model)
    service.load()
    return service


@pytest.fixture(scope="session", params=sorted(GATED_SETS))
def gated_run(request: pytest.FixtureRequest, service: QAService) -> tuple[GatedSet, Outcome]:
    """One run of one gated set, shared by every test that reads it."""
    gated = GATED_SETS[request.param]
    qa = service if gated.corpus == "guide" else request.getfixturevalue("handbook_service")
    return gated, run_harness(qa.settings, gated.dataset, service=qa, only_split=gated.split, progress=False)


@pytest.mark.slow
def test_quality_holds(gated_run: tuple[GatedSet, Outcome]) -> None:
    gated, outcome = gated_run
    problems = shortfalls(outcome.summaries, thresholds()[gated.name])
    assert not problems, (
        f"{gated.name}: quality fell below the floors of evals/thresholds.toml:\n  "
        + "\n  ".join(problems)
        + "\n(if the change is meant to trade this away, regenerate the floors with the commands atop that file)"
    )


def test_every_gated_set_has_its_table_and_nothing_else_is_gated() -> None:
    tables = thresholds()
    assert set(tables) == set(GATED_SETS)
    for name, gated in GATED_SETS.items():
        assert set(tables[name]) == {gated.split or "all"}, name
        assert gated.dataset.is_file(), gated.dataset


def test_gate_names_the_metric_the_value_and_the_count() -> None:
    summaries = {"all": {PRIMARY: {"hit@1": 0.5, "retrieval_questions": 40, "false_abstention": 0.2}}}
    limits = {"all": {"hit@1": 0.6, "max_false_abstention": 0.1, "mrr@10": 0.5, "fact_recall": 0.1}}
    assert shortfalls(summaries, limits) == [
        "all hit@1 = 0.500 (n = 40), below the floor 0.6",
        "all false_abstention = 0.200, above the ceiling 0.1",
        "all mrr@10: not measured",
        "all fact_recall: not measured",
    ]
