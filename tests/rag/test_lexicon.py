"""The hiring-domain vocabulary (`rag/data/synonyms.txt`): the asker's word reaches the guide's."""

from __future__ import annotations

import pytest

from rag.lexicon import expand_terms, in_guide_words, load_synonyms
from rag.service import QAService
from rag.text import content_terms


@pytest.mark.parametrize(
    ("question", "rewritten"),
    [
        ("What degree does the JD ask for?", "What degree does the job description ask for?"),
        ("what do new grads make", "what do entry level make"),
        ("Is a doctorate required?", "Is a phd required?"),
    ],
)
def test_the_embedder_reads_the_guides_words(question: str, rewritten: str) -> None:
    assert in_guide_words(question, load_synonyms()) == rewritten


def test_bm25_gets_the_other_words_of_every_group_touched() -> None:
    extra = expand_terms(content_terms("Which skills does the posting list?"), load_synonyms())
    assert {"job", "descript", "jd"} <= set(extra)


def test_a_job_ad_is_the_guides_job_description_template(service: QAService) -> None:
    best = service.retrieve("What degree does the job ad ask for?", 1)[0].chunk
    assert best.section[0] == "Primary Job Description Template" and "degree" in best.text
