"""`hit@150w`: evidence within the first 150 words of a ranking, on tiny synthetic rankings."""

from __future__ import annotations

from collections.abc import Sequence

from evals import metrics as m
from evals.dataset import EvalItem
from evals.report import HEADLINE, summary_table
from evals.runner import WORD_BUDGET, evaluate, summarise
from evals.systems import Hit, Run


def chunk(n: int, text: str = "") -> str:
    """A chunk of `n` words, the last ones `text`."""
    tail = text.split()
    return " ".join(["w"] * (n - len(tail)) + tail)


def test_the_chunk_that_crosses_the_budget_counts_and_the_next_does_not() -> None:
    ranking = [chunk(100), chunk(49), chunk(30), chunk(10)]
    # 0 and 100 words before the first two; 149 < 150 before the third, so it starts inside; 179 before the fourth.
    assert m.chunks_within_words(ranking, 150) == 3
    assert m.chunks_within_words([chunk(100), chunk(50), chunk(5)], 150) == 2  # the third starts at word 151
    assert m.chunks_within_words([chunk(200), chunk(5)], 150) == 1
    assert m.chunks_within_words([chunk(10)], 150) == 1  # a ranking shorter than the budget is read whole
    assert m.chunks_within_words([], 150) == 0


def test_evidence_just_inside_and_just_outside_the_budget() -> None:
    inside = [chunk(100), chunk(49), chunk(30, "the red flag")]
    outside = [chunk(100), chunk(50), chunk(30, "the red flag")]
    assert m.hit_within_words(inside, ["THE  red flag"], 150) == 1.0
    assert m.hit_within_words(outside, ["the red flag"], 150) == 0.0
    # Same rank, one budget: a ranking of long chunks reaches fewer of them.
    assert m.hit_within_words([chunk(160), chunk(5, "the red flag")], ["the red flag"], 150) == 0.0
    assert m.hit_within_words([chunk(20), chunk(5, "the red flag")], ["the red flag"], 150) == 1.0


def test_all_mode_needs_every_evidence_string_within_the_budget() -> None:
    ranking = [chunk(60, "alpha"), chunk(60, "beta"), chunk(60, "gamma")]  # gamma's chunk starts at word 120
    assert m.hit_within_words(ranking, ["alpha", "gamma"], 150, "all") == 1.0
    assert m.hit_within_words(ranking, ["alpha", "gamma"], 100, "all") == 0.0
    assert m.hit_within_words(ranking, ["alpha", "gamma"], 100, "any") == 1.0
    assert m.hit_within_words(ranking, ["alpha", "delta"], 150, "all") == 0.0
    assert m.hit_within_words(ranking, [], 150) == 0.0


class Ranked:
    """A system that ranks a fixed list of chunks, as deep as it is asked, and records the depths."""

    answers = False

    def __init__(self, name: str, texts: Sequence[str]) -> None:
        self.name = name
        self.texts = list(texts)
        self.depths: list[int] = []

    def run(self, question: str, depth: int, history: Sequence[str]) -> Run:
        self.depths.append(depth)
        return Run(question, [Hit(f"c{i}", "", t, 1.0) for i, t in enumerate(self.texts[:depth])], 1.0)


def test_short_chunks_are_read_deeper_than_the_largest_cut_off() -> None:
    """Ten 10-word chunks hold 100 words: the harness asks again, deeper, for the budget, and the
    cut-off metrics still come from the first ranking."""
    short = Ranked("short", [chunk(10) for _ in range(13)] + [chunk(10, "the evidence")] + [chunk(10)] * 40)
    long = Ranked("long", [chunk(140), chunk(140, "the evidence"), chunk(140)])
    item = EvalItem("q", "where is it?", ("the evidence",))
    [short_result] = evaluate(short, [item], [1, 3, 10], {}, progress=False)
    [long_result] = evaluate(long, [item], [1, 3, 10], {}, progress=False)
    assert short.depths == [10, 20]
    assert long.depths == [10]  # 420 words already: no second question
    assert short_result.retrieval["hit@10"] == 0.0 and short_result.retrieval["hit@150w"] == 1.0
    assert short_result.budget_chunks == 15
    assert long_result.retrieval["hit@3"] == 1.0 and long_result.retrieval["hit@150w"] == 1.0
    assert long_result.budget_chunks == 2
    assert len(short_result.run.hits) == 10  # what is stored and cut off is the first ranking


def test_the_deepening_stops_at_the_deepest_ranking_and_when_the_system_runs_out() -> None:
    tiny = Ranked("tiny", [chunk(1)] * 200)
    few = Ranked("few", [chunk(5)] * 12)
    item = EvalItem("q", "where?", ("nowhere",))
    evaluate(tiny, [item], [5], {}, progress=False)
    evaluate(few, [item], [5], {}, progress=False)
    assert tiny.depths == [5, 10, 20, 40, 50]
    assert few.depths == [5, 10, 20]  # twelve chunks: asked for 20, got 12, nothing more to read


def test_unanswerable_questions_are_not_read_for_the_budget() -> None:
    system = Ranked("s", [chunk(1)] * 30)
    evaluate(system, [EvalItem("u", "not covered?", answerable=False)], [10], {}, progress=False)
    assert system.depths == [10]


def test_summary_is_the_mean_over_answerable_questions_with_evidence_and_shows_in_the_table() -> None:
    system = Ranked("s", [chunk(100, "one"), chunk(100, "two")])
    items = [
        EvalItem("a", "one?", ("one",)),
        EvalItem("b", "two?", ("two",)),
        EvalItem("c", "three?", ("three",)),
        EvalItem("d", "both?", ("one", "two"), "all"),
        EvalItem("e", "not covered?", answerable=False),
    ]
    summary = summarise(evaluate(system, items, [1], {}, progress=False), [1])
    assert summary["hit@150w"] == 0.75  # a, b, d found (the second chunk starts at word 100); c not
    assert summary["hit@1"] == 0.25  # only a
    assert summary["chunks_in_budget_p50"] == 2
    assert "hit@150w" in HEADLINE and WORD_BUDGET == 150
    table = summary_table({"all": {"s": summary}})
    header, _, row = table.splitlines()
    assert header.split(" | ")[header.split(" | ").index("hit@150w")] == "hit@150w"
    assert row.split(" | ")[header.split(" | ").index("hit@150w")] == "0.750"


def test_the_markdown_report_shows_the_budget_beside_the_cut_offs(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from evals.report import write_markdown

    project, baseline = Ranked("project", [chunk(10, "one")] * 20), Ranked("baseline", [chunk(200, "one")])
    items = [EvalItem("a", "one?", ("one",)), EvalItem("b", "two?", ("two",))]
    results = {s.name: evaluate(s, items, [1, 3], {}, progress=False) for s in (project, baseline)}
    summaries = {"all": {name: summarise(rs, [1, 3]) for name, rs in results.items()}}
    path = write_markdown(tmp_path, "t", summaries, results, "project", 0.5, None, {})
    text = path.read_text()
    assert "| hit@150w | chunks_in_budget_p50 |" in text
    assert "| all | project | 2 |" in text and "`hit@150w`: the evidence lies in a chunk" in text
    assert (tmp_path / "hit_rate.png").stat().st_size > 0  # plotted against k only
