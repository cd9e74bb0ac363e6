"""The questions the benchmarks ask: golden-set questions that stand on their own (no follow-ups),
each once, in the file's order."""

from __future__ import annotations

from evals.dataset import DEFAULT_DATASET, load_dataset


def golden_questions(limit: int | None = None) -> list[str]:
    seen: dict[str, None] = {}
    for item in load_dataset(DEFAULT_DATASET):
        if not item.follows:
            seen.setdefault(item.question.strip(), None)
    questions = list(seen)
    return questions[:limit] if limit else questions
