"""Reports of an evaluation: a printed summary, machine-readable JSON, and a Markdown report with plots."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.calibrate import Calibration
from evals.runner import BUDGET_KEY, QuestionResult, followup_passes

HEADLINE = [
    "hit@1",
    "hit@3",
    "hit@5",
    "mrr@10",
    "ndcg@10",
    "recall@5",
    "precision@3",
    "words@5",
    "hit@150w",
    "chunks_in_budget_p50",
    "fact_recall",
    "citations_valid",
    "citation_support",
    "answer_holds_evidence",
    "list_recall",
    "answer_words_p50",
    "abstain_recall",
    "false_abstention",
    "followup_pass",
    "retrieval_ms_p50",
    "answer_ms_p50",
]


# Under the summary table: what the equal-word-budget columns mean.
BUDGET_NOTE = [
    "`hit@150w`: the evidence lies in a chunk that starts within the first 150 words of the ranking "
    "(chunks read in order, the one crossing 150 words included; for evidence_mode `all`, every evidence "
    "string), so systems with short and long chunks are compared on an equal amount of text read. "
    "`chunks_in_budget_p50`: the median number of chunks those 150 words take.",
]


def fmt(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.0f}"
    return str(value)


def summary_table(summaries: dict[str, dict[str, dict[str, Any]]], columns: Sequence[str] = HEADLINE) -> str:
    """Markdown table: one row per (split, system)."""
    present = [c for c in columns if any(c in s for per in summaries.values() for s in per.values())]
    lines = ["| split | system | n | " + " | ".join(present) + " |", "|" + "---|" * (len(present) + 3)]
    for split, per_system in summaries.items():
        for system, summary in per_system.items():
            cells = [fmt(summary.get(c)) for c in present]
            lines.append(f"| {split} | {system} | {summary.get('questions')} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# The columns of the table per question shape: completeness beside precision and length.
SHAPE_COLUMNS = [
    "hit@1",
    "hit@3",
    "hit@150w",
    "fact_recall",
    "list_recall",
    "answer_holds_evidence",
    "citation_support",
    "answer_words_p50",
    "citations_valid",
    "abstain_recall",
    "false_abstention",
]


def result_record(r: QuestionResult) -> dict[str, Any]:
    answer = r.run.answer
    return {
        "id": r.item.id,
        "split": r.item.split,
        "category": r.item.category,
        "shape": r.item.shape,
        "answer_shape": answer.shape if answer else None,
        "evidence_quoted": r.quoted,
        "answer_words": r.answer_words,
        "question": r.item.question,
        "resolved": r.run.resolved,
        "answerable": r.item.answerable,
        "first_rank": r.first_rank,
        "retrieval": r.retrieval,
        "chunks_in_budget": r.budget_chunks,
        "retrieved": [
            {"chunk_id": h.chunk_id, "section": h.section, "text": h.text, "score": h.score} for h in r.run.hits
        ],
        "answer": answer.answer if answer else None,
        "abstained": r.abstained,
        "confidence": r.run.confidence,
        "facts_found": r.facts_found,
        "citations_valid": r.citations_valid,
        "citations_supported": r.supported,
        "retrieval_ms": r.run.retrieval_ms,
        "answer_ms": r.run.answer_ms,
    }


def write_json(
    path: Path,
    summaries: dict[str, dict[str, dict[str, Any]]],
    results: dict[str, list[QuestionResult]],
    meta: dict[str, Any],
    by_shape: dict[str, dict[str, dict[str, Any]]] | None = None,
) -> None:
    payload = {
        "meta": meta,
        "summary": summaries,
        "by_shape": by_shape or {},
        "questions": {system: [result_record(r) for r in rs] for system, rs in results.items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def cell(text: str, limit: int = 90) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def failures(results: Sequence[QuestionResult]) -> list[QuestionResult]:
    bad = []
    for r in results:
        missed = r.scored_for_retrieval and r.first_rank != 1
        wrong_abstention = r.abstained is not None and r.abstained == r.item.answerable
        missing_facts = bool(r.facts_found) and not all(r.facts_found)
        incomplete = r.item.evidence_mode == "all" and bool(r.quoted) and not all(r.quoted)
        unsupported = r.item.answerable and not r.abstained and r.supported and not all(r.supported)
        if missed or wrong_abstention or missing_facts or unsupported or incomplete or r.citations_valid is False:
            bad.append(r)
    return bad


def why(r: QuestionResult) -> str:
    reasons = []
    if r.scored_for_retrieval and r.first_rank != 1:
        reasons.append("evidence not at rank 1" if r.first_rank else "evidence not retrieved")
    if r.abstained is not None and r.abstained == r.item.answerable:
        reasons.append("abstained on an answerable question" if r.abstained else "answered an unanswerable question")
    if r.facts_found and not all(r.facts_found):
        missing = [f for f, ok in zip(r.item.facts, r.facts_found) if not ok]
        reasons.append("facts missing: " + ", ".join(missing))
    if r.item.answerable and not r.abstained and r.supported and not all(r.supported):
        reasons.append(f"{r.supported.count(False)} of {len(r.supported)} citations not on the evidence")
    if r.item.evidence_mode == "all" and r.quoted and not all(r.quoted):
        reasons.append(f"answer quotes {sum(r.quoted)} of {len(r.quoted)} evidence strings")
    if r.citations_valid is False:
        reasons.append("invalid citation")
    return "; ".join(reasons)


def followup_section(results: Sequence[QuestionResult]) -> list[str]:
    """The follow-up pairs: each follow-up as it was asked, as it was searched, and whether it landed."""
    by_id = {r.item.id: r for r in results}
    pairs = [r for r in results if r.item.follows]
    if not pairs:
        return []
    passing = sum(followup_passes(r) for r in pairs)
    lines = [
        "",
        "## Follow-up pairs",
        "",
        f"{passing} of {len(pairs)} pass (evidence at rank 1, every fact in the answer).",
        "",
        "| pair | earlier question | follow-up | searched as | evidence rank | facts | passes |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in pairs:
        follows = str(r.item.follows)
        earlier = by_id[follows].item.question if follows in by_id else "—"
        facts = f"{sum(r.facts_found)}/{len(r.facts_found)}" if r.facts_found else "—"
        lines.append(
            f"| {follows}→{r.item.id} | {cell(earlier, 60)} | {cell(r.item.question, 40)} | {cell(r.run.resolved, 60)} "
            f"| {fmt(r.first_rank)} | {facts} | {'yes' if followup_passes(r) else 'no'} |"
        )
    return lines


def write_markdown(
    folder: Path,
    title: str,
    summaries: dict[str, dict[str, dict[str, Any]]],
    results: dict[str, list[QuestionResult]],
    primary: str,
    threshold: float,
    calibration: Calibration | None,
    meta: dict[str, Any],
    by_shape: dict[str, dict[str, dict[str, Any]]] | None = None,
) -> Path:
    from evals.plots import plot_hit_rate, plot_scores

    folder.mkdir(parents=True, exist_ok=True)
    # Against k: the word budget's hit rate is not one of the cut-offs.
    by_k = {
        s: {k: v for k, v in summary.items() if not BUDGET_KEY.fullmatch(k)}
        for s, summary in summaries.get("all", {}).items()
    }
    plot_hit_rate(folder / "hit_rate.png", by_k)
    plot_scores(folder / "scores.png", results[primary], threshold)
    lines = [f"# {title}", ""]
    lines += [f"- {key}: {value}" for key, value in meta.items()]
    lines += ["", "## Summary", "", summary_table(summaries), "", *BUDGET_NOTE, ""]
    if by_shape:
        lines += ["## By question shape", "", summary_table(by_shape, SHAPE_COLUMNS), ""]
    lines += ["![hit rate against k](hit_rate.png)", "", "![top-1 scores](scores.png)", ""]
    if calibration is not None:
        lines += [
            "## Calibration",
            "",
            f"Threshold chosen: **{calibration.threshold:.4f}** ({calibration.answerable} answerable, "
            f"{calibration.unanswerable} unanswerable questions).",
            "",
            "| threshold | unanswerable that abstain | answerable that abstain |",
            "|---|---|---|",
        ]
        step = max(1, len(calibration.curve) // 25)
        for point in calibration.curve[::step]:
            lines.append(f"| {point.threshold:.4f} | {point.abstain_recall:.3f} | {point.false_abstention:.3f} |")
        lines.append("")
    project = results[primary]
    lines += [
        "## Per question",
        "",
        "| id | split | shape | question | first relevant rank | facts | evidence quoted | answer shape, words | abstained |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in project:
        facts = f"{sum(r.facts_found)}/{len(r.facts_found)}" if r.facts_found else "—"
        quoted = f"{sum(r.quoted)}/{len(r.quoted)}" if r.quoted else "—"
        shaped = f"{r.run.answer.shape}, {r.answer_words}" if r.run.answer and r.answer_words is not None else "—"
        lines.append(
            f"| {r.item.id} | {r.item.split} | {r.item.shape or '—'} | {cell(r.item.question, 70)} | "
            f"{fmt(r.first_rank)} | {facts} | {quoted} | {shaped} | "
            f"{fmt(r.abstained)}{'' if r.item.answerable else ' (should)'} |"
        )
    lines += followup_section(project)
    lines += ["", "## Failures", ""]
    bad = failures(project)
    if not bad:
        lines.append("None.")
    for r in bad:
        lines += [f"### {r.item.id}: {cell(r.item.question, 200)}", "", f"Why: {why(r)}.", ""]
        if r.run.resolved != r.item.question:
            lines.append(f"Searched as: {cell(r.run.resolved, 200)}")
            lines.append("")
        if r.item.evidence:
            lines.append("Expected evidence: " + "; ".join(f"“{cell(e, 120)}”" for e in r.item.evidence))
            lines.append("")
        lines.append("Retrieved instead:")
        lines.append("")
        for rank, hit in enumerate(r.run.hits[:3], start=1):
            lines.append(f"{rank}. `{hit.section}` — {cell(hit.text, 140)}")
        if r.run.answer is not None:
            lines += ["", f"Answer: {cell(r.run.answer.answer, 300)}"]
        lines.append("")
    path = folder / "README.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
