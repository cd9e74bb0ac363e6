"""A pay question about a role the guide names but never pays is declined (rag/ranking/roles.py)."""

from __future__ import annotations

from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.ranking.retrieval import RetrievalConfig
from rag.ranking.roles import roles_in, unpaid_roles, unpaid_roles_asked
from rag.service import QAService
from rag.settings import Settings

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


def test_the_guide_pays_only_its_own_role(built_settings: Settings, embed_model: BaseEmbedding) -> None:
    # The rule switched on (shipped, it is one signal of the abstention model).
    service = QAService(built_settings, embed_model, RetrievalConfig(decline_unpaid_roles=True))
    unpaid = service.index().retriever.unpaid
    assert {("data", "scientist"), ("ml", "architect"), ("team", "lead")} <= unpaid
    for question in ("What pay should a data scientist in Seattle expect?", "Salary range for an ML architect?"):
        answer = service.ask(question)
        assert not answer.answerable and not answer.citations, question
    premium = service.ask("How much more do AI engineers earn than traditional software engineers?")
    assert premium.answerable and "56-80%" in premium.answer
    assert service.ask("What does an AI engineer do that a data scientist doesn't?").answerable


def test_each_coverage_rule_has_its_switch(built_settings: Settings, embed_model: BaseEmbedding) -> None:
    questions = {
        "decline_unpaid_roles": "What pay should a data scientist in Seattle expect?",
        "decline_promised_only": "Is it legal to ask about salary history in the interview?",
        "decline_unknown_names": "What do AI engineers earn in Miami?",
    }
    # Shipped, the rules are off: each is a signal of the calibrated abstention (rag/answering/abstaining.py).
    shipped = QAService(built_settings, embed_model)
    shipped.load()
    for switch, question in questions.items():
        assert not shipped.index().retriever.uncovered(question), switch
        # Switched on, its question is declined; no other rule declines it.
        service = QAService(built_settings, embed_model, RetrievalConfig(**{switch: True}))
        service.load()
        assert service.index().retriever.uncovered(question), switch
