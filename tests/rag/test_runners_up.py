"""Which runners-up join the best chunk in an answer: those that score close to it and match a word of
the question that the answer does not match yet."""

from __future__ import annotations

import dataclasses

from rag.answering.extractive import AnswerConfig, ExtractiveAnswerer
from rag.models import Chunk, RetrievedChunk
from rag.service import QAService

SECTION = ("Hiring Tips", "Quick Sourcing Guide", "Top Platforms")


def found(text: str, score: float) -> RetrievedChunk:
    return RetrievedChunk(Chunk(text[:8], "guide.txt", SECTION, "bullet", text, 0, len(text)), score, score)


def test_a_close_runner_up_joins_only_with_words_the_answer_lacks(embed_model) -> None:  # type: ignore[no-untyped-def]
    answerer = ExtractiveAnswerer(embed_model, threshold=0.0, config=AnswerConfig(max_citations=3))
    ranked = [
        found("LinkedIn: search for engineers with Python", 1.0),
        found("GitHub: contributors who write Python", 0.97),  # "Python" again: nothing new
        found("Kaggle: top performers in competitions", 0.95),  # "Kaggle" is asked for and new
    ]
    chosen = answerer.choose_chunks(ranked, question="Python engineers on LinkedIn or Kaggle")
    assert [r.chunk.text.split(":")[0] for r in chosen] == ["LinkedIn", "Kaggle"]


def test_a_one_part_answer_quotes_at_most_two_passages(embed_model) -> None:  # type: ignore[no-untyped-def]
    answerer = ExtractiveAnswerer(embed_model, threshold=0.0)
    ranked = [found("LinkedIn: engineers", 1.0), found("GitHub: Python", 0.99), found("Kaggle: competitions", 0.99)]
    assert len(answerer.choose_chunks(ranked, question="engineers on LinkedIn, GitHub with Python, Kaggle")) == 2
    # A question in three parts cites the best passage of each.
    assert len(answerer.choose_chunks(ranked, parts=3, question="LinkedIn, GitHub or Kaggle?")) == 3


def test_a_runner_up_well_below_the_best_stays_out_whatever_it_matches(embed_model) -> None:  # type: ignore[no-untyped-def]
    answerer = ExtractiveAnswerer(embed_model, threshold=0.0)
    ranked = [found("LinkedIn: search for engineers", 1.0), found("Kaggle: top performers", 0.85)]
    assert len(answerer.choose_chunks(ranked, question="LinkedIn or Kaggle")) == 1


def test_without_the_rule_every_close_runner_up_joins(embed_model) -> None:  # type: ignore[no-untyped-def]
    answerer = ExtractiveAnswerer(embed_model, threshold=0.0)
    answerer.config = dataclasses.replace(answerer.config, new_words_only=False)
    ranked = [found("LinkedIn: engineers with Python", 1.0), found("GitHub: Python contributors", 0.97)]
    assert len(answerer.choose_chunks(ranked, question="Python engineers")) == 2


def test_the_red_flags_of_the_level_asked_about_come_alone(service: QAService) -> None:
    # The seniors' red flags score close to the mid-level's but match nothing the question asks that
    # the mid-level's do not: they were once quoted as a second answer.
    answer = service.ask("What are the warning signs in a mid-level AI engineer interview?")
    sections = [c.section for c in answer.citations]
    assert "Experience Level Requirements Matrix > Senior Level (5+ years)" not in sections


def test_a_question_that_names_the_list_gets_its_close_bullets(embed_model) -> None:  # type: ignore[no-untyped-def]
    answerer = ExtractiveAnswerer(embed_model, threshold=0.0)
    ranked = [found("LinkedIn: engineers with Python", 1.0), found("GitHub: Python contributors", 0.95)]
    # "platforms" is the list's heading ("Top Platforms"): the question asks for the list, not a bullet.
    assert len(answerer.choose_chunks(ranked, question="Python platforms")) == 2
    assert len(answerer.choose_chunks(ranked, question="Python engineers")) == 1


def test_tips_for_the_posting_are_the_posting_tips(service: QAService) -> None:
    answer = service.ask("Any tips to make our job posting stand out?")
    assert len(answer.citations) > 1
    assert {c.section for c in answer.citations} == {"Hiring Tips > Quick Sourcing Guide > Posting Optimization Tips"}
