"""The reader: a cross-encoder that reads a question and a passage together and judges whether the
passage answers the question, fine-tuned here from the packaged MiniLM-L6 weights on questions
written over the training corpora (`python -m evals.train_reader`; model card in docs/reader.md).

Its score is an input, never a blind re-ranking: a signal of the abstention model, read over the best
three passages. (As a feature of the ranker it was measured and did not pay: docs/reader.md.) Only the encoder layers and the head ship (int8,
torch dynamic quantization); the word, position and type embeddings were frozen in training and are
the packaged model's own, so the file stays small. Loaded once per process; `RAG_READER=off`
(rag/settings.py) serves without it."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from rag.models import RetrievedChunk

READER_FILE = Path(__file__).with_name("reader.int8.pt")
MAX_TOKENS = 128
# How many of the best passages it reads: those the abstention signals look at (rag/ranking/signals.py).
READ_DEPTH = 3

_loaded: dict[str, Reader | None] = {}
_lock = threading.Lock()


def passage_text(section_path: str, text: str) -> str:
    """What the reader reads of a passage: its heading path, then its text."""
    return f"{section_path}: {text}" if section_path else text


class Reader:
    """Scores (question, passage) pairs: the logit that the passage answers the question."""

    def __init__(self, path: Path = READER_FILE, base: Path | None = None) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        from rag.index.embedding import packaged_model_path

        base = base or packaged_model_path()
        self.tokenizer = AutoTokenizer.from_pretrained(str(base))
        encoder = AutoModel.from_pretrained(str(base))
        self.model = ReaderModel(encoder)
        self.model.eval()
        self.model = torch.ao.quantization.quantize_dynamic(self.model, {torch.nn.Linear}, dtype=torch.qint8)
        state = torch.load(path, map_location="cpu", weights_only=False)
        _, unexpected = self.model.load_state_dict(state, strict=False)
        if unexpected:
            raise ValueError(f"{path} does not fit the reader: {unexpected[:3]}")
        self.torch = torch

    def scores(self, question: str, passages: Sequence[str]) -> np.ndarray:
        if not passages:
            return np.zeros(0)
        batch = self.tokenizer(
            [question] * len(passages),
            list(passages),
            truncation="only_second",
            max_length=MAX_TOKENS,
            padding=True,
            return_tensors="pt",
        )
        with self.torch.inference_mode():
            return self.model(**batch).numpy().astype(float)


def ReaderModel(encoder):  # type: ignore[no-untyped-def]
    """The encoder, mean-pooled (as the embedder was trained), and a linear head."""
    import torch

    class _ReaderModel(torch.nn.Module):
        def __init__(self, encoder) -> None:  # type: ignore[no-untyped-def]
            super().__init__()
            self.encoder = encoder
            self.head = torch.nn.Linear(encoder.config.hidden_size, 1)

        def forward(self, input_ids, attention_mask, token_type_ids=None):  # type: ignore[no-untyped-def]
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            return self.head(pooled).squeeze(-1)

    return _ReaderModel(encoder)


def read_best(reader: Reader, question: str, retrieved: list[RetrievedChunk]) -> list[RetrievedChunk]:
    """The ranking with the reader's logit on each of its best READ_DEPTH passages."""
    read = retrieved[:READ_DEPTH]
    logits = reader.scores(question, [passage_text(r.chunk.section_path, r.chunk.plain_text) for r in read])
    return [replace(r, reader=float(x)) for r, x in zip(read, logits, strict=True)] + retrieved[READ_DEPTH:]


def shared_reader() -> Reader | None:
    """The process's reader, loaded once; None when it is not shipped."""
    with _lock:
        if "reader" not in _loaded:
            _loaded["reader"] = Reader() if READER_FILE.is_file() else None
        return _loaded["reader"]
