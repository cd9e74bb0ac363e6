"""Follow-ups, several-part questions and names the guide never mentions, on the real guide's structure."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rag.answering.extractive import AnswerConfig, ExtractiveAnswerer, counted_unit
from rag.models import Chunk, RetrievedChunk
from rag.ranking.coverage import only_promised, promised_only, unknown_names
from rag.ranking.figures import ASKS_FOR_A_FIGURE
from rag.ranking.parts import split_parts
from rag.ranking.turns import depends_on_earlier
from rag.reading.text import content_terms
from rag.service import QAService


@pytest.mark.parametrize(
    ("earlier", "followup", "lands_on"),
    [
        ("What do AI engineers earn in Austin?", "And in Seattle?", "Seattle $160,000 - $220,000"),
        (
            "What's the salary for an entry-level AI engineer?",
            "what about mid-level?",
            "Mid-Level (3-5 years): $130,000",
        ),
        ("What do AI engineers earn in Austin?", "Denver?", "Denver $125,000 - $170,000"),
    ],
)
def test_followup_carries_the_subject_and_replaces_the_value(
    service: QAService, earlier: str, followup: str, lands_on: str
) -> None:
    resolved = service.resolve(followup, [earlier])
    assert "Austin" not in resolved and "entry" not in resolved.lower()
    answer = service.ask(followup, None, [earlier])
    assert answer.answerable and answer.citations[0].quote.startswith(lands_on)


def test_a_full_question_is_not_rewritten(service: QAService) -> None:
    question = "What are the red flags for a senior AI engineer candidate?"
    assert not depends_on_earlier(question)
    assert service.resolve(question, ["What do AI engineers earn in Austin?"]) == question


def test_a_followup_without_history_stays_as_asked(service: QAService) -> None:
    assert service.resolve("And in Seattle?", []) == "And in Seattle?"


def test_comparisons_are_split_into_one_part_per_alternative(service: QAService) -> None:
    retriever = service.index().retriever
    parts = split_parts("Austin or Denver: which pays more?", retriever.members, retriever.synonyms)
    assert len(parts) == 2 and "Denver" not in parts[0] and "Austin" not in parts[1]
    answer = service.ask("Austin or Denver: which pays more?")
    quotes = [c.quote for c in answer.citations]
    assert any(q.startswith("Austin $135,000") for q in quotes) and any(q.startswith("Denver $125,000") for q in quotes)


def test_clauses_carry_the_level_into_later_parts(service: QAService) -> None:
    retriever = service.index().retriever
    question = "What's mid-level pay, and what red flags should I watch for at that level?"
    parts = split_parts(question, retriever.members, retriever.synonyms)
    assert len(parts) == 2 and "mid-level" in parts[1].lower()


def test_single_questions_have_one_part(service: QAService) -> None:
    retriever = service.index().retriever
    for question in [
        "What are the red flags for a senior AI engineer candidate?",
        "What do AI engineers earn in Seattle?",
    ]:
        assert split_parts(question, retriever.members, retriever.synonyms) == [question]


def test_names_the_guide_never_mentions_make_it_abstain(service: QAService) -> None:
    vocabulary = service.index().retriever.signals.vocabulary
    assert unknown_names("What does an AI engineer earn in Miami?", vocabulary) == ["Miami"]
    assert unknown_names("Do companies sponsor H-1B visas?", vocabulary) == ["H-1B"]
    assert unknown_names("Is a 403(b) plan part of the offer?", vocabulary) == ["403(b)"]  # not "403" and "b"
    assert unknown_names("What do AI engineers earn in Seattle?", vocabulary) == []
    assert unknown_names("Miami is nice. What do AI engineers earn?", vocabulary) == []  # sentence start
    answer = service.ask("What does an AI engineer earn in Miami?")
    assert not answer.answerable and not answer.citations and "does not cover" in answer.answer


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("How many interview rounds should we run?", True),
        ("What percentage of offers include equity?", True),
        ("How much do AI engineers earn in Boston?", True),
        ("How long does it take to fill a senior role?", True),
        ("How much data engineering background should applicants have?", False),
        ("What are the red flags for a senior hire?", False),
    ],
)
def test_questions_that_ask_for_a_figure(question: str, asks: bool) -> None:
    assert bool(ASKS_FOR_A_FIGURE.search(question)) is asks


def test_a_figure_in_words_counts() -> None:
    assert not ExtractiveAnswerer.asks_for_a_figure_in_vain(
        "How many interviewers?", ["Each candidate meets four interviewers"]
    )
    assert ExtractiveAnswerer.asks_for_a_figure_in_vain("How many interviewers?", ["Interviews matter"])


@pytest.mark.parametrize(
    ("question", "unit"),
    [
        ("How many weeks of paid leave do we give?", "week"),
        ("How many PTO days is standard?", "day"),
        ("How many interviewers does a candidate meet?", "interview"),
        ("how many AI engineers per data scientist?", "engin"),
        ("Does the guide have interview questions, and roughly how many?", None),
        ("How many of the questions cover NLP?", None),
        ("What do seniors earn?", None),
    ],
)
def test_what_a_how_many_question_counts(question: str, unit: str | None) -> None:
    assert counted_unit(question) == unit


@pytest.mark.parametrize(
    ("question", "stated", "in_vain"),
    [
        ("How many weeks of leave do we offer?", "Base salary $130,000 - $180,000", True),
        ("How many weeks does hiring take?", "Expect 2-4 months for senior positions", False),
        ("How many interviewers does a candidate meet?", "Each candidate meets four interviewers", False),
        ("What percentage of equity is typical?", "Base salary $130,000 - $180,000 plus equity", True),
        ("What share of the jobs are remote?", "85% of positions offer remote/hybrid options", False),
        # A rate per period needs a figure per that period: an annual salary is no day rate.
        ("What day rate do AI contractors charge?", "Senior Level (5+ years): $160,000 - $200,000+", True),
        ("What's a fair hourly rate for a consultant?", "Remote-first culture with flexible hours", True),
        ("What's a fair hourly rate for a consultant?", "Consultants bill $150 per hour", False),
        ("Are bonuses paid monthly?", "Bonuses of $2,000 paid monthly", False),
        ("Do we hold monthly team retros?", "Regular retrospectives with the team", False),  # no pay asked
    ],
)
def test_an_answer_holds_the_kind_of_figure_asked_for(question: str, stated: str, in_vain: bool) -> None:
    assert ExtractiveAnswerer.asks_for_a_figure_in_vain(question, [stated]) is in_vain


def test_a_year_in_a_heading_answers_no_how_many(embed_model) -> None:  # type: ignore[no-untyped-def]
    # The figures-or-nothing rule, now off by default (a signal of the abstention model), as a switch.
    answerer = ExtractiveAnswerer(embed_model, threshold=0.0, config=AnswerConfig(figures_or_nothing=True))

    def ask(question: str, section: tuple[str, ...], text: str) -> str | None:
        found = [RetrievedChunk(Chunk("c", "guide.txt", section, "bullet", text, 0, len(text)), 1.0, 1.0)]
        answer = answerer.compose("q", question, "", found)
        return answer.answer if answer.answerable else None

    # "in 2026" dates the section; it is not a number of rounds.
    dated = ("Guide", "Skills for AI Engineers in 2026")
    assert ask("How many interview rounds are there?", dated, "Design matters") is None
    # A heading's other figures are facts: the senior level starts at six years.
    senior = ("Experience Level Requirements Matrix", "Senior Level (6+ years)", "Core AI Engineering Skills")
    assert "6+ years" in (ask("How many years for senior?", senior, "Leads fine-tuning initiatives") or "")


def test_a_question_for_a_figure_the_guide_does_not_give_abstains(built_settings, embed_model) -> None:  # type: ignore[no-untyped-def]
    # The figures-or-nothing rule, switched on (shipped, it is one signal of the abstention model).
    service = QAService(built_settings, embed_model)
    extractive = service.answerer
    extractive.config = replace(extractive.config, figures_or_nothing=True)  # type: ignore[attr-defined]
    # The guide has interview questions, but no number of interview rounds.
    answer = service.ask("How many interview rounds should the loop for an AI engineer have?")
    assert not answer.answerable and not answer.citations
    # Where the guide has the figure, it is quoted.
    answer = service.ask("How many years of experience does the job template ask for?")
    assert answer.answerable and any(ch.isdigit() for c in answer.citations for ch in c.quote)
    # A percentage is not answered by a salary range, nor a count of weeks by one of dollars ...
    assert not service.ask("What percent of the equity pool should a founding AI engineer receive?").answerable
    assert not service.ask("How many weeks of paid parental leave do AI engineers get?").answerable
    # ... but a share is answered by its percentage, and weeks by months.
    assert "85%" in service.ask("Roughly what share of these positions are remote or hybrid?").answer
    assert "2-4 months" in service.ask("How many weeks does it take to hire a senior AI engineer?").answer


def test_a_topic_the_guide_only_promises() -> None:
    promised = promised_only(
        {term for text in ["Salary ranges by metro", "Technology: latest techniques"] for term in content_terms(text)},
        ["Legal compliance guidelines", "Salary benchmarks across major markets", "Tech-sector variations"],
        (),
    )
    # "Legal" leads a promise the body never keeps; "major" only phrases one; "Salary" is delivered.
    assert promised == frozenset({"legal", "tech"})
    assert only_promised("Is it legal to ask about age?", promised) == ["legal"]


def test_a_question_on_what_the_guide_only_promises_abstains(service: QAService) -> None:
    assert service.index().retriever.signals.promised == frozenset({"legal"})
    answer = service.ask("Is it legal to ask about salary history in the interview?")
    assert not answer.answerable and not answer.citations
    assert service.ask("What are the major red flags for a senior hire?").answerable
