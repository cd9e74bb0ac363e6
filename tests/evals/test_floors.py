"""Floors sized by the number of questions: Wilson bounds, which count each metric rests on, and the
thresholds table they are written into."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from evals.corpora import CORPORA
from evals.floors import GATED_SETS, floors_for, main, relative, replace_table, wilson_bound, z_score


def test_wilson_bounds_match_known_values() -> None:
    assert z_score(0.95) == pytest.approx(1.6449, abs=1e-4)
    # The textbook 95% two-sided interval of 50 out of 100 is 0.4038 to 0.5962.
    assert wilson_bound(0.5, 100, z_score(0.975)) == pytest.approx(0.4038, abs=1e-4)
    assert wilson_bound(0.5, 100, z_score(0.975), upper=True) == pytest.approx(0.5962, abs=1e-4)
    # All right: n / (n + z²); none right: z² / (n + z²) above.
    z = z_score(0.95)
    assert wilson_bound(1.0, 10, z) == pytest.approx(10 / (10 + z * z))
    assert wilson_bound(0.0, 10, z, upper=True) == pytest.approx(z * z / (10 + z * z))


def test_a_smaller_set_gets_a_lower_floor_at_the_same_value() -> None:
    z = z_score(0.95)
    assert wilson_bound(0.8, 40, z) < wilson_bound(0.8, 180, z) < 0.8
    assert wilson_bound(0.8, 40, z_score(0.99)) < wilson_bound(0.8, 40, z)
    with pytest.raises(ValueError, match="confidence"):
        z_score(1.0)


SUMMARY = {
    "questions": 50,
    "retrieval_questions": 40,
    "answerable_questions": 40,
    "unanswerable_questions": 10,
    "answered_questions": 50,
    "fact_questions": 40,
    "answered_with_evidence": 38,
    "list_questions": 0,
    "hit@1": 0.75,
    "hit@3": 0.9,
    "mrr@10": 0.82,
    "hit@150w": 0.95,
    "fact_recall": 0.8,
    "answer_holds_evidence": 0.9,
    "list_recall": None,
    "abstain_recall": 0.7,
    "citations_valid": 1.0,
    "false_abstention": 0.05,
}


def test_each_metric_is_bounded_with_its_own_count() -> None:
    floors = {f.key: f for f in floors_for(SUMMARY, 0.95)}
    z = z_score(0.95)
    assert floors["hit@1"].n == 40 and floors["hit@1"].limit == pytest.approx(wilson_bound(0.75, 40, z), abs=1e-3)
    assert floors["abstain_recall"].n == 10
    assert floors["answer_holds_evidence"].n == 38
    assert floors["citations_valid"].n == 50 and floors["citations_valid"].limit < 1.0
    assert floors["max_false_abstention"].limit == pytest.approx(wilson_bound(0.05, 40, z, upper=True), abs=1e-3)
    assert floors["max_false_abstention"].limit > 0.05
    assert "list_recall" not in floors  # not measured: no floor
    # Rounded outwards, so a floor never sits above its bound nor a ceiling below it.
    assert floors["hit@1"].limit <= wilson_bound(0.75, 40, z)
    assert floors["max_false_abstention"].limit >= wilson_bound(0.05, 40, z, upper=True)


def test_rewriting_a_table_keeps_the_hand_written_comments_and_the_other_tables() -> None:
    text = (
        "# the file's header\n\n"
        "# why this set is gated\n"
        '# -- floors of a.all: old\n#   old command\n[a.all]\n"hit@1" = 0.5  # old\n\n'
        "[b.heldout]\nfact_recall = 0.4\n"
    )
    block = '# -- floors of a.all: new\n#   new command\n[a.all]\n"hit@1" = 0.6  # measured 0.7, n = 40'
    rewritten = replace_table(text, "a.all", block)
    assert rewritten == (
        "# the file's header\n\n# why this set is gated\n" + block + "\n\n[b.heldout]\nfact_recall = 0.4\n"
    )
    assert replace_table(rewritten, "a.all", block) == rewritten
    appended = replace_table(rewritten, "c.all", "[c.all]\nhit = 1.0")
    assert tomllib.loads(appended) == {
        "a": {"all": {"hit@1": 0.6}},
        "b": {"heldout": {"fact_recall": 0.4}},
        "c": {"all": {"hit": 1.0}},
    }


def test_the_command_writes_the_table_of_a_split_from_a_rag_eval_json(tmp_path: Path) -> None:
    run = tmp_path / "run.json"
    meta = {"date": "2026-01-01 12:00", "questions": 50, "split": "heldout"}
    run.write_text(json.dumps({"meta": meta, "summary": {"all": {}, "heldout": {"project": SUMMARY}}}))
    thresholds = tmp_path / "thresholds.toml"
    thresholds.write_text("# header\n")
    args = ["--json", str(run), "--dataset", "18f.heldout", "--thresholds", str(thresholds)]
    assert main([*args, "--write"]) == 0
    text = thresholds.read_text()
    table = tomllib.loads(text)["18f"]["heldout"]
    assert table["hit@1"] == floors_for(SUMMARY, 0.95)[0].limit
    assert table["max_false_abstention"] > 0.05
    assert '"hit@1" = ' in text and "# measured 0.750, n = 40" in text
    assert "one-sided 95% Wilson bounds" in text
    # The commands that remake the table: the set's own `rag eval`, over its corpus and split.
    # (`../shared/…` where the shared folder lies beside the checkout; else where it was found.)
    corpus = relative(CORPORA["18f"])
    assert f"rag eval --dataset evals/datasets/18f.jsonl --corpus {corpus} --split heldout" in text
    assert f"python -m evals.floors --json {run} --dataset 18f.heldout --confidence 0.95 --write" in text
    with pytest.raises(SystemExit, match="no 'project' summary of split 'tune'"):
        main(["--json", str(run), "--dataset", "18f.tune"])


def test_tune_sets_are_gated_more_loosely_than_sets_never_read() -> None:
    assert GATED_SETS["golden"].tune and GATED_SETS["golden"].confidence > GATED_SETS["guide_blind3"].confidence
    assert not any(
        GATED_SETS[name].tune for name in ("guide_blind3", "shapes_blind2", "fresh", "fresh2", "external", "18f")
    )
