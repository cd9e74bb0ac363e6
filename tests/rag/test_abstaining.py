"""Abstention as one calibrated decision: the fitted model is data with the command that made it, it
reads signals any corpus gives, and the service declines below its threshold and answers above it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from evals.fit_abstention import fit, probabilities
from rag.answering.abstaining import SIGNALS, AbstentionModel
from rag.service import QAService
from rag.settings import DEFAULT_THRESHOLD_FILE, Settings

MODEL_FILE = DEFAULT_THRESHOLD_FILE


def test_the_committed_model_reads_the_signals_and_says_how_it_was_fitted() -> None:
    data = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    assert data["command"].startswith("python -m evals.fit_abstention")
    assert set(data["trained_on"]) == {"guide", "18f"}
    model = AbstentionModel.load(MODEL_FILE)
    assert model is not None and len(model.weights) == len(SIGNALS) and 0.0 < model.threshold < 1.0


def test_a_file_with_a_similarity_threshold_only_loads_no_model(tmp_path: Path) -> None:
    old = tmp_path / "abstention.json"
    old.write_text(json.dumps({"threshold": 0.25}), encoding="utf-8")
    assert AbstentionModel.load(old) is None
    assert AbstentionModel.load(tmp_path / "missing.json") is None


def test_the_signals_of_an_answered_and_an_unanswerable_question(service: QAService) -> None:
    retriever = service.index().retriever
    signal = dict.fromkeys(SIGNALS)
    for question in ("What should we pay a mid-level engineer?", "What is the 401(k) match in Miami?"):
        signal[question] = dict(zip(SIGNALS, retriever.rank(question, 5).signals, strict=True))
    answered, unknown = signal["What should we pay a mid-level engineer?"], signal["What is the 401(k) match in Miami?"]
    assert answered["unknown_name"] == 0.0 and unknown["unknown_name"] == 1.0
    assert answered["coverage"] > unknown["coverage"]
    assert service.abstention is not None
    assert service.abstention.probability(np.asarray(list(answered.values()))) > service.abstention.threshold


@pytest.mark.parametrize(
    ("question", "answerable"),
    [("What should we pay a mid-level engineer in Seattle?", True), ("What is the 401(k) match in Miami?", False)],
)
def test_the_service_declines_below_the_threshold_and_answers_above(
    service: QAService, question: str, answerable: bool
) -> None:
    answer = service.ask(question)
    assert answer.answerable is answerable and answer.confidence is not None
    assert (answer.confidence >= service.abstention.threshold) is answerable  # type: ignore[union-attr]


def test_an_explicit_similarity_threshold_turns_the_model_off(built_settings: Settings, embed_model) -> None:  # type: ignore[no-untyped-def]
    qa = QAService(built_settings.model_copy(update={"abstain_threshold": 0.2}), embed_model=embed_model)
    assert qa.abstention is None


def test_fitting_weighs_the_signal_that_separates_the_classes() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, len(SIGNALS)))
    y = rng.random(200) < 0.7
    x[:, SIGNALS.index("coverage")] += 2.5 * y
    w, b = fit(x, y)
    assert np.argmax(np.abs(w)) == SIGNALS.index("coverage") and w[SIGNALS.index("coverage")] > 0
    p = probabilities(x, w, b)
    assert p[y].mean() > 0.7 > p[~y].mean()


def test_a_damaged_model_file_falls_back_to_the_threshold(tmp_path: Path) -> None:
    damaged = tmp_path / "abstention.json"
    damaged.write_text(
        json.dumps({"threshold": 0.3, "model": {"signals": list(SIGNALS[:2]), "weights": [1.0]}}), encoding="utf-8"
    )
    assert AbstentionModel.load(damaged) is None


def test_a_signal_added_since_the_fit_weighs_nothing(tmp_path: Path) -> None:
    older = tmp_path / "abstention.json"
    names = list(SIGNALS[:-1])
    older.write_text(
        json.dumps({"threshold": 0.3, "model": {"signals": names, "weights": [1.0] * len(names), "bias": 0.0}}),
        encoding="utf-8",
    )
    model = AbstentionModel.load(older)
    assert model is not None and model.weights[-1] == 0.0 and len(model.weights) == len(SIGNALS)
