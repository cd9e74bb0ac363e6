"""Stage timing: nested stages are counted once, threads started in the request share its trace."""

from __future__ import annotations

import contextvars
import threading
import time

from rag.operations.timing import current_trace, record_outcome, stage, traced
from rag.service import QAService


def test_nested_stages_are_exclusive() -> None:
    with traced() as trace, stage("outer"):
        time.sleep(0.01)
        with stage("inner"):
            time.sleep(0.1)
    assert trace.stages["inner"] >= 0.1
    # The outer stage holds only its own time, so the stages add up to the wall time, not more.
    assert 0.01 <= trace.stages["outer"] < trace.stages["inner"]
    assert current_trace() is None


def test_without_a_trace_hooks_do_nothing() -> None:
    with stage("embed"):
        pass
    record_outcome("q", True, 0.5)
    assert current_trace() is None


def test_a_question_records_its_stages_and_outcome(service: QAService) -> None:
    with traced() as trace:
        # The API runs sync routes in a thread that copies the request's context; do the same here.
        context = contextvars.copy_context()
        worker = threading.Thread(target=context.run, args=(service.ask, "What is the salary range?"))
        worker.start()
        worker.join()
    assert set(trace.stages) == {"embed", "retrieve", "answer"}
    assert len(trace.outcomes) == 1
    outcome = trace.outcomes[0]
    assert outcome.answerable is True
    assert outcome.top_score is not None and 0.3 < outcome.top_score <= 1.0
    assert trace.query_id == outcome.query_id
