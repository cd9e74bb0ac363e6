"""The fine-tuned embedder: its layers ship with the package and load into the packaged model; an index
embedded by another model is embedded again by `rag ingest` and refused until then."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.errors import IndexMissing
from rag.index.embedding import EMBEDDER_FILE, load_embed_model, model_identity, packaged_model_path
from rag.index.ingest import ingest
from rag.service import QAService
from tests.conftest import make_settings

QUESTION = "how many days of sick leave can I carry over?"


def test_the_fine_tuned_layers_ship_small_and_load_into_the_packaged_model(embed_model: BaseEmbedding) -> None:
    assert EMBEDDER_FILE.is_file(), "the fine-tuned embedder ships with the package"
    assert EMBEDDER_FILE.stat().st_size < 30e6
    assert embed_model.model_name == model_identity()
    assert embed_model.model_name.startswith(f"{packaged_model_path()} tuned ")
    packaged = load_embed_model(packaged_model_path())  # a folder given: used as it is
    assert packaged.model_name == str(packaged_model_path())
    tuned, plain = (
        np.asarray(embed_model.get_text_embedding(QUESTION)),
        np.asarray(packaged.get_text_embedding(QUESTION)),
    )
    assert abs(np.linalg.norm(tuned) - 1.0) < 1e-3
    # The same question in both spaces: related (the layers started from these weights), not the same.
    assert 0.3 < float(tuned @ plain) < 0.999


def test_an_index_of_another_model_is_refused_then_embedded_again(tmp_path: Path, embed_model: BaseEmbedding) -> None:
    settings = make_settings(tmp_path)
    first = ingest(settings, load_embed_model(packaged_model_path()))
    service = QAService(settings, embed_model=embed_model)
    with pytest.raises(IndexMissing, match=r"embedded by another model .*run `rag ingest`"):
        service.load()
    again = ingest(settings, embed_model)
    assert again.switched and again.embedded == first.added  # every chunk, though none changed
    service.load()
    assert service.ask("What should we pay a mid-level engineer in Seattle?").citations
    # Nothing changed since: nothing is embedded.
    assert ingest(settings, embed_model).embedded == 0
