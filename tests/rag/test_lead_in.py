"""A passage that leads into a list says nothing without it: quoted, it brings the list."""

from __future__ import annotations

import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.index.ingest import ingest
from rag.service import QAService
from tests.conftest import make_settings

PAGE = """# Parental leave

Parental leave is paid for up to twelve weeks after a birth or an adoption.

## Requesting it

To request parental leave, you'll need to email the following items to your HR specialist:

- the Parental Leave Request form
- the signed Service Agreement form
- a copy of the birth certificate

## Returning

Tell your supervisor a week before you come back.
"""


@pytest.fixture(scope="module")
def leave_service(tmp_path_factory: pytest.TempPathFactory, embed_model: BaseEmbedding) -> QAService:
    tmp = tmp_path_factory.mktemp("leadin")
    corpus = tmp / "corpus"
    corpus.mkdir()
    (corpus / "leave.md").write_text(PAGE, encoding="utf-8")
    settings = make_settings(tmp, corpus)
    ingest(settings, embed_model)
    qa = QAService(settings, embed_model=embed_model)
    qa.load()
    return qa


def test_a_quoted_lead_in_brings_its_list(leave_service: QAService) -> None:
    answer = leave_service.ask("What do I need to email to request parental leave?")
    assert answer.answerable and answer.shape == "list"
    quotes = [c.quote for c in answer.citations]
    assert quotes[0].startswith("To request parental leave")
    assert quotes[1:] == [
        "the Parental Leave Request form",
        "the signed Service Agreement form",
        "a copy of the birth certificate",
    ]
    assert "- the signed Service Agreement form [3]" in answer.answer
