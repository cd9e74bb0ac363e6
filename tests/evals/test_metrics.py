"""Metric functions on hand-made cases with known answers, and against ranx on the same runs."""

from __future__ import annotations

import math

import pytest

from evals import metrics as m
from evals.calibrate import calibrate
from evals.dataset import DatasetError, EvalItem, load_dataset
from evals.report import followup_section
from evals.runner import QuestionResult, summarise
from evals.systems import Run
from rag.models import Answer

CHUNKS = ["nothing here", "Seattle $160,000 - $220,000 High", "Austin $135,000 - $185,000", "more noise"]


def test_first_relevant_at_rank_two_gives_mrr_one_half() -> None:
    assert m.reciprocal_rank_at(CHUNKS, ["seattle $160,000"], 10) == 0.5
    assert m.first_relevant_rank(CHUNKS, ["Seattle $160,000"]) == 2
    assert m.hit_at(CHUNKS, ["Seattle $160,000"], 1) == 0.0
    assert m.hit_at(CHUNKS, ["Seattle $160,000"], 2) == 1.0


def test_comparison_collapses_whitespace_and_case() -> None:
    assert m.evidence_found("SEATTLE   $160,000\n- $220,000", ["seattle $160,000 - $220,000"]) == {0}


def test_all_mode_needs_every_evidence_string_inside_k() -> None:
    evidence = ["Seattle $160,000", "Austin $135,000"]
    assert m.hit_at(CHUNKS, evidence, 2, "all") == 0.0
    assert m.hit_at(CHUNKS, evidence, 3, "all") == 1.0
    assert m.hit_at(CHUNKS, evidence, 2, "any") == 1.0
    assert m.recall_at(CHUNKS, evidence, 2) == 0.5


def test_duplicates_never_push_ndcg_above_one() -> None:
    duplicated = ["Seattle $160,000 a", "Seattle $160,000 b", "Seattle $160,000 c"]
    assert m.ndcg_at(duplicated, ["Seattle $160,000"], 3) == pytest.approx(1.0)
    # Two evidence strings in one chunk earn one gain: the ideal counts two relevant positions.
    both = ["Seattle $160,000 and Austin $135,000", "Seattle $160,000 again"]
    value = m.ndcg_at(both, ["Seattle $160,000", "Austin $135,000"], 2)
    assert value == pytest.approx(1.0 / (1.0 + 1.0 / math.log2(3))) and value <= 1.0
    split = ["Seattle $160,000", "Austin $135,000"]
    assert m.ndcg_at(split, ["Seattle $160,000", "Austin $135,000"], 2) == pytest.approx(1.0)


def test_precision_counts_relevant_chunks() -> None:
    assert m.precision_at(CHUNKS, ["Seattle", "Austin"], 4) == 0.5


def test_citation_checks() -> None:
    source = "Seattle $160,000 - $220,000 High"
    good = [{"n": 1, "source": "g.txt", "start": 0, "end": 7, "quote": "Seattle"}]
    assert m.citations_valid("Seattle [1]", good, {"g.txt": source})
    assert not m.citations_valid("Seattle [2]", good, {"g.txt": source})
    shifted = [{**good[0], "start": 1, "end": 8}]
    assert not m.citations_valid("Seattle [1]", shifted, {"g.txt": source})
    assert m.citation_supported("Seattle $160,000 - $220,000 High", ["$160,000 - $220,000"])
    assert m.citation_supported("$160,000", ["Seattle $160,000 - $220,000"])
    assert not m.citation_supported("Austin", ["Seattle"])


def test_ranking_metrics_agree_with_ranx() -> None:
    ranx = pytest.importorskip("ranx")
    runs = {
        "q1": ["a", "b", "c", "d"],
        "q2": ["e", "f", "g", "h"],
        "q3": ["i", "j", "k", "l"],
    }
    relevant = {"q1": {"b"}, "q2": {"e", "g"}, "q3": {"x"}}
    qrels = ranx.Qrels({q: {d: 1 for d in docs} for q, docs in relevant.items()})
    run = ranx.Run({q: {d: float(len(docs) - i) for i, d in enumerate(docs)} for q, docs in runs.items()})
    expected = ranx.evaluate(qrels, run, ["mrr@3", "hit_rate@1", "precision@3", "recall@3", "ndcg@3"])
    # Each relevant document is its own evidence string, so chunk-level and evidence-level relevance agree.
    ours = {"mrr@3": [], "hit_rate@1": [], "precision@3": [], "recall@3": [], "ndcg@3": []}
    for q, docs in runs.items():
        evidence = sorted(relevant[q])
        ours["mrr@3"].append(m.reciprocal_rank_at(docs, evidence, 3))
        ours["hit_rate@1"].append(m.hit_at(docs, evidence, 1))
        ours["precision@3"].append(m.precision_at(docs, evidence, 3))
        ours["recall@3"].append(m.recall_at(docs, evidence, 3))
        ours["ndcg@3"].append(m.ndcg_at(docs, evidence, 3))
    for name, values in ours.items():
        assert sum(values) / len(values) == pytest.approx(expected[name], abs=1e-9), name


def test_calibration_separates_and_respects_the_false_abstention_cap() -> None:
    scores = [(0.9, True), (0.8, True), (0.7, True), (0.3, False), (0.2, False), (0.75, False)]
    result = calibrate(scores, max_false=0.0)
    assert 0.3 < result.threshold <= 0.7
    assert all(s >= result.threshold for s, ok in scores if ok)
    loose = calibrate(scores, max_false=0.34)
    assert loose.threshold > 0.75  # one answerable of three may abstain, so the 0.75 impostor abstains too


def test_bad_dataset_lines_name_their_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "d.jsonl"
    path.write_text('{"id": "a", "question": "ok"}\n{"id": "b", "question": ""}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"d\.jsonl:2"):
        load_dataset(path)
    path.write_text('{"id": "a", "question": "ok", "evidence_mode": "some"}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match="evidence_mode"):
        load_dataset(path)


def test_a_follow_up_passes_only_at_rank_one_with_every_fact() -> None:
    def result(item: EvalItem, rank: int | None, facts: list[bool]) -> QuestionResult:
        retrieval = {f"{name}@1": float(rank == 1) for name in ("hit", "recall", "precision", "mrr", "ndcg")}
        run = Run(item.question, [], 1.0, Answer(item.id, item.question, "quoted [1]", True, [], []))
        return QuestionResult(item, run, retrieval, rank, {1: 0}, facts, True, [], False)

    earlier = EvalItem("e", "What do they earn in Austin?", ("Austin",), facts=("$1",))
    landed = EvalItem("f", "And in Seattle?", ("Seattle",), facts=("$2",), follows="e")
    missed = EvalItem("g", "And in Denver?", ("Denver",), facts=("$3",), follows="e")
    results = [result(earlier, 1, [True]), result(landed, 1, [True]), result(missed, 1, [False])]
    assert summarise(results, [1])["followup_pass"] == 0.5
    section = "\n".join(followup_section(results))
    assert "1 of 2 pass" in section
    assert "| e→f | What do they earn in Austin? | And in Seattle?" in section
    assert summarise(results[:1], [1])["followup_pass"] is None


def test_evidence_quoted_counts_each_evidence_string_once() -> None:
    quotes = ["Design and develop machine learning models [x]", "Build and maintain AI/ML pipelines"]
    evidence = ["design and develop  MACHINE learning", "Build and maintain AI/ML pipelines for data", "Deploy"]
    # A quote may hold an evidence string, or lie inside one (a sentence of a longer bullet).
    assert m.evidence_quoted(quotes, evidence) == [True, True, False]


def test_completeness_beside_precision() -> None:
    """List recall averages the share of evidence quoted (an abstention quotes none); "answer holds the
    evidence" asks only for one supported quote; both only over answerable questions."""
    from evals.runner import score

    def run(item: EvalItem, quotes: list[str], answerable: bool = True) -> QuestionResult:
        from rag.models import Citation

        citations = [Citation(n, f"c{n}", "g.txt", "S", q, 0, len(q), 1.0) for n, q in enumerate(quotes, start=1)]
        text = "\n".join(f"- {q} [{c.n}]" for q, c in zip(quotes, citations))
        answer = Answer(item.id, item.question, text, answerable, citations if answerable else [], [])
        return score(item, Run(item.question, [], 1.0, answer), [1], {"g.txt": ""})

    whole = EvalItem("a", "list them", ("one", "two"), "all")
    half = EvalItem("b", "list them too", ("three", "four"), "all")
    declined = EvalItem("c", "and these", ("five", "six"), "all")
    fact = EvalItem("d", "one fact", ("seven",), "any")
    results = [
        run(whole, ["one", "two"]),
        run(half, ["three", "nine"]),
        run(declined, [], answerable=False),
        run(fact, ["eight", "seven"]),
    ]
    summary = summarise(results, [1])
    assert summary["list_recall"] == pytest.approx((1.0 + 0.5 + 0.0) / 3)
    assert summary["answer_holds_evidence"] == 1.0  # of the three answered, each holds some evidence
    assert summary["citation_support"] == pytest.approx(4 / 6)
    assert results[0].answer_words == 6
