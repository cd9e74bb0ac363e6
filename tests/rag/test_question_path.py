"""A question's path through the service visits each stage once: its turn is resolved, the retriever
ranks it and reads what the answer needs in one call (`HybridRetriever.rank`), and the answer is
composed; and the ranking modules stay small (issue 22)."""

from __future__ import annotations

from pathlib import Path

from rag.service import QAService

RANKING = Path(__file__).resolve().parents[2] / "rag" / "ranking"


def test_ask_ranks_once_and_reads_the_signals_once(service: QAService, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    retriever = service.index().retriever
    calls = {"rank": 0, "signals": 0, "asked": 0}
    rank, signals, asked = retriever.rank, retriever.signals.of, retriever.places.asked_of_structure

    def counted(name, function):  # type: ignore[no-untyped-def]
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            calls[name] += 1
            return function(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(retriever, "rank", counted("rank", rank))
    monkeypatch.setattr(retriever.signals, "of", counted("signals", signals))
    monkeypatch.setattr(retriever.places, "asked_of_structure", counted("asked", asked))
    service.answers.clear()
    service.ask("What are the red flags for a mid-level engineer in a hiring process?")
    assert calls == {"rank": 1, "signals": 1, "asked": 1}


def test_no_ranking_module_passes_300_lines() -> None:
    long = {p.name: n for p in RANKING.glob("*.py") if (n := len(p.read_text(encoding="utf-8").splitlines())) > 300}
    assert not long
