"""Run a dataset through a system and turn what happened into per-question results and summaries."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from tqdm import tqdm

from evals import metrics as m
from evals.dataset import EvalItem
from evals.systems import Hit, Run, System
from rag.models import answer_payload

# The equal reading budget of `hit@150w`: evidence within the first 150 words of the ranking.
WORD_BUDGET = 150
# The deepest ranking asked for to fill the budget: the service's default `max_top_k` (a deeper
# `top_k` is refused), and more than 150 words in every ranking of the corpora measured here.
DEEPEST = 50


BUDGET_KEY = re.compile(r"hit@\d+w")


def budget_key(budget: int) -> str:
    return f"hit@{budget}w"


@dataclass
class QuestionResult:
    item: EvalItem
    run: Run
    retrieval: dict[str, float] = field(default_factory=dict)  # e.g. "hit@3"
    first_rank: int | None = None
    words: dict[int, int] = field(default_factory=dict)
    facts_found: list[bool] = field(default_factory=list)
    citations_valid: bool | None = None
    supported: list[bool] = field(default_factory=list)
    # Per evidence string: whether a quote of the answer holds it (completeness of the answer).
    quoted: list[bool] = field(default_factory=list)
    answer_words: int | None = None
    abstained: bool | None = None
    # How many ranked chunks start within the word budget (what `hit@150w` reads).
    budget_chunks: int | None = None

    @property
    def scored_for_retrieval(self) -> bool:
        return self.item.answerable and bool(self.item.evidence)


def history_for(item: EvalItem, by_id: dict[str, EvalItem]) -> list[str]:
    """The earlier questions of a follow-up chain, oldest first."""
    chain: list[str] = []
    current = item
    while current.follows:
        current = by_id[current.follows]
        chain.append(current.question)
    return list(reversed(chain))


def ranking_to_budget(
    system: System, question: str, history: Sequence[str], run: Run, depth: int, budget: int
) -> list[Hit]:
    """A ranking long enough to hold `budget` words: the run's own when it does; otherwise the system
    is asked again, twice as deep each time (up to `DEEPEST`), until it does or has no more chunks.
    The cut-off metrics stay on the run's own ranking: a deeper one is read only for the budget."""
    hits = run.hits
    while sum(m.words(h.text) for h in hits) < budget and len(hits) >= depth and depth < DEEPEST:
        depth = min(2 * depth, DEEPEST)
        hits = system.run(question, depth, history).hits
    return hits


def evaluate(
    system: System,
    items: Sequence[EvalItem],
    ks: Sequence[int],
    sources: dict[str, str],
    progress: bool = True,
    word_budget: int | None = WORD_BUDGET,
) -> list[QuestionResult]:
    """Each question through `system`, scored; with `word_budget`, also evidence within that many
    words of the ranking (read deeper than `max(ks)` when the first chunks are short)."""
    by_id = {item.id: item for item in items}
    depth = max(ks)
    results = []
    for item in tqdm(items, desc=system.name, disable=not progress, leave=False):
        history = history_for(item, by_id)
        run = system.run(item.question, depth, history)
        deeper = None
        if word_budget is not None and item.answerable and item.evidence:
            deeper = ranking_to_budget(system, item.question, history, run, depth, word_budget)
        results.append(score(item, run, ks, sources, deeper, word_budget or WORD_BUDGET))
    return results


def score(
    item: EvalItem,
    run: Run,
    ks: Sequence[int],
    sources: dict[str, str],
    budget_hits: Sequence[Hit] | None = None,
    word_budget: int = WORD_BUDGET,
) -> QuestionResult:
    """One question's metrics; `budget_hits` (default: the run's ranking) is what the word budget reads."""
    texts = [h.text for h in run.hits]
    result = QuestionResult(item, run)
    if result.scored_for_retrieval:
        for k in ks:
            result.retrieval[f"hit@{k}"] = m.hit_at(texts, item.evidence, k, item.evidence_mode)
            result.retrieval[f"recall@{k}"] = m.recall_at(texts, item.evidence, k)
            result.retrieval[f"precision@{k}"] = m.precision_at(texts, item.evidence, k)
            result.retrieval[f"mrr@{k}"] = m.reciprocal_rank_at(texts, item.evidence, k)
            result.retrieval[f"ndcg@{k}"] = m.ndcg_at(texts, item.evidence, k)
        read = [h.text for h in budget_hits] if budget_hits is not None else texts
        result.budget_chunks = m.chunks_within_words(read, word_budget)
        result.retrieval[budget_key(word_budget)] = m.hit_within_words(
            read, item.evidence, word_budget, item.evidence_mode
        )
        result.first_rank = m.first_relevant_rank(texts, item.evidence)
    result.words = {k: sum(len(t.split()) for t in texts[:k]) for k in ks}
    if run.answer is not None:
        payload = answer_payload(run.answer)
        citations = payload["citations"]
        assert isinstance(citations, list)
        result.abstained = not run.answer.answerable
        result.citations_valid = m.citations_valid(run.answer.answer, citations, sources)
        if item.answerable:
            result.facts_found = m.facts_found(run.answer.answer, item.facts)
            if item.evidence:
                quotes = [str(c["quote"]) for c in citations]
                result.supported = [m.citation_supported(q, item.evidence) for q in quotes]
                result.quoted = m.evidence_quoted(quotes, item.evidence)
        if run.answer.answerable:
            result.answer_words = m.words(run.answer.answer)
    return result


def followup_passes(r: QuestionResult) -> bool:
    """A follow-up passes when its evidence ranks first and its answer holds every fact."""
    return r.first_rank == 1 and not r.abstained and all(r.facts_found or [False])


# The count of questions a summary metric is a mean over (the summary's key holding it); a metric
# not named here and not a retrieval metric (`hit@…`, `mrr@…`: "retrieval_questions") has none.
DENOMINATOR = {
    "fact_recall": "fact_questions",
    "citations_valid": "answered_questions",
    "answer_holds_evidence": "answered_with_evidence",
    "list_recall": "list_questions",
    "abstain_recall": "unanswerable_questions",
    "false_abstention": "answerable_questions",
    "followup_pass": "followup_questions",
}


def denominator(metric: str) -> str | None:
    """The summary key counting the questions `metric` averages over."""
    if metric in DENOMINATOR:
        return DENOMINATOR[metric]
    name = metric.partition("@")[0]
    return "retrieval_questions" if name in ("hit", "recall", "precision", "mrr", "ndcg") else None


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def summarise(results: Sequence[QuestionResult], ks: Sequence[int]) -> dict[str, float | int | None]:
    """Aggregate metrics of one system on a set of questions."""
    scored = [r for r in results if r.scored_for_retrieval]
    summary: dict[str, float | int | None] = {"questions": len(results), "retrieval_questions": len(scored)}
    for k in ks:
        for name in ("hit", "recall", "precision", "mrr", "ndcg"):
            summary[f"{name}@{k}"] = mean([r.retrieval[f"{name}@{k}"] for r in scored])
        summary[f"words@{k}"] = m.median([float(r.words[k]) for r in scored])
    # The equal word budget, and how many chunks of each system it takes to fill it.
    for key in sorted({key for r in scored for key in r.retrieval if BUDGET_KEY.fullmatch(key)}):
        summary[key] = mean([r.retrieval[key] for r in scored if key in r.retrieval])
    budgeted = [float(r.budget_chunks) for r in scored if r.budget_chunks is not None]
    if budgeted:
        summary["chunks_in_budget_p50"] = m.median(budgeted)
    summary["retrieval_ms_p50"] = m.median([r.run.retrieval_ms for r in results])
    summary["retrieval_ms_p95"] = m.percentile([r.run.retrieval_ms for r in results], 0.95)
    answered = [r for r in results if r.run.answer is not None]
    if not answered:
        return summary
    answerable = [r for r in answered if r.item.answerable]
    with_facts = [r for r in answerable if r.item.facts]
    unanswerable = [r for r in answered if not r.item.answerable]
    abstained = [r for r in answered if r.abstained]
    citations = [ok for r in answerable if not r.abstained for ok in r.supported]
    followups = [r for r in answerable if r.item.follows and r.item.evidence]
    # Completeness: of the questions that need every evidence string, the share the answer quotes.
    needs_all = [r for r in answerable if r.item.evidence_mode == "all" and r.item.evidence and not r.abstained]
    answered_with_evidence = [r for r in answerable if r.item.evidence and not r.abstained]
    lengths = [float(r.answer_words) for r in answerable if r.answer_words is not None]
    lists = [r for r in answerable if r.item.evidence_mode == "all" and r.item.evidence]
    summary.update(
        {
            # How many questions each answer metric averages over (DENOMINATOR): what a floor is sized by.
            "answerable_questions": len(answerable),
            "unanswerable_questions": len(unanswerable),
            "answered_questions": len(answered),
            "fact_questions": len(with_facts),
            "answered_with_evidence": len(answered_with_evidence),
            "list_questions": len(lists),
            "followup_questions": len(followups),
            "fact_recall": mean([float(all(r.facts_found)) for r in with_facts]),
            "fact_recall_per_fact": mean([float(f) for r in with_facts for f in r.facts_found]),
            "citations_valid": mean([float(bool(r.citations_valid)) for r in answered]),
            "citation_support": mean([float(ok) for ok in citations]) if citations else None,
            # The answer holds the evidence: at least one of its quotes does (answered questions).
            "answer_holds_evidence": (
                mean([float(any(r.supported)) for r in answered_with_evidence]) if answered_with_evidence else None
            ),
            # An abstention on a question that needs a list quotes none of it: counted as 0.
            "list_recall": (
                mean([mean([float(q) for q in r.quoted]) if not r.abstained else 0.0 for r in lists])
                if needs_all
                else None
            ),
            "answer_words_p50": m.median(lengths) if lengths else None,
            "abstain_precision": (
                sum(not r.item.answerable for r in abstained) / len(abstained) if abstained else None
            ),
            "abstain_recall": mean([float(bool(r.abstained)) for r in unanswerable]) if unanswerable else None,
            "false_abstention": mean([float(bool(r.abstained)) for r in answerable]) if answerable else None,
            # Share of follow-ups (questions with `follows`) that land on their evidence with every fact.
            "followup_pass": mean([float(followup_passes(r)) for r in followups]) if followups else None,
            "answer_ms_p50": m.median([r.run.answer_ms for r in answered]),
            "answer_ms_p95": m.percentile([r.run.answer_ms for r in answered], 0.95),
        }
    )
    return summary
