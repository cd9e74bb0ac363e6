"""A pay question about a role the guide names but never pays is declined (rag/ranking/roles.py)."""

from __future__ import annotations

from rag.ranking.roles import roles_in, unpaid_roles, unpaid_roles_asked
from rag.service import QAService

GUIDE = [
    "Average Salary: $130,000 - $200,000+ annually for AI Engineers.",
    "You will work with data scientists, software engineers, and product managers.",
    "AI-fluent roles command a 56-80% wage premium over traditional software engineering.",
    "Career Path: progression to ML Architect. Strong engineers grow fast.",
]


def test_roles_are_a_job_and_the_word_before_it() -> None:
    assert roles_in("Our Data Scientists and an engineer") == {("data", "scientist")}
    # The work stems like the worker: it counts only where pay is spoken of.
    assert ("softwar", "engin") in roles_in("software engineering salaries", people_only=False)
    assert not roles_in("software engineering salaries")


def test_a_role_is_paid_when_a_sentence_on_pay_names_it() -> None:
    unpaid = unpaid_roles(GUIDE)
    assert ("data", "scientist") in unpaid and ("product", "manag") in unpaid and ("ml", "architect") in unpaid
    # Named beside a salary or a wage premium, even as the work: the guide relates their pay.
    assert ("ai", "engin") not in unpaid and ("softwar", "engin") not in unpaid
    # An engineer by any other word is still the engineer the guide pays.
    assert ("strong", "engin") not in unpaid


def test_only_a_question_about_pay_is_declined() -> None:
    unpaid = unpaid_roles(GUIDE)
    assert unpaid_roles_asked("What do product managers earn in Austin?", unpaid) == ["product manag"]
    assert unpaid_roles_asked("how much does a data scientist make?", unpaid) == ["data scientist"]
    assert not unpaid_roles_asked("How do we make data scientists and engineers work together?", unpaid)
    assert not unpaid_roles_asked("AI engineer or data scientist: which do we need?", unpaid)
    assert not unpaid_roles_asked("How much more than software engineers should we pay?", unpaid)


def test_the_roles_the_guide_never_pays_are_read_from_it(service: QAService) -> None:
    # One signal of the abstention model (rag/answering/abstaining.py), weighed with the others.
    unpaid = service.index().retriever.signals.unpaid
    assert {("data", "scientist"), ("ml", "architect"), ("team", "lead")} <= unpaid
    premium = service.ask("How much more do AI engineers earn than traditional software engineers?")
    assert premium.answerable and "56-80%" in premium.answer
    assert service.ask("What does an AI engineer do that a data scientist doesn't?").answerable
