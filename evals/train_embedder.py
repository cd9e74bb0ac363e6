"""Fine-tune the packaged embedder (all-MiniLM-L6-v2) on the questions written over the training
corpora (and, with `--sets all`, the read sets of the guide and 18F): contrastive, each question
against its evidence passage, the other questions' passages of its batch and a hard negative mined
by today's ranker from the same document. One seeded command that prints its time:

    python -m evals.train_embedder [--minutes 60] [--epochs 2] [--sets all] [--out FILE] [--evaluate-only]

It learns no new head and costs nothing more at query time; it means a re-index. Before and after,
it reports dense-only retrieval (hit@1, hit@5, MRR@10 of the first passage holding the evidence) on
questions it never read: the validation corpus, 18F's held-out split and the guide's blind sets."""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

from evals.corpora import CORPORA, HELD_OUT, ROOT, TRAINING, TUNE, service_for
from evals.dataset import load_dataset
from evals.metrics import relevant_flags
from evals.training_loop import optimise, report
from rag.index.embedding import EMBEDDER_FILE, load_embed_model, packaged_model_path
from rag.settings import Settings

DEPTH = 12
BATCH = 32
LEARNING_RATE = 2e-5
SCALE = 20.0  # cosine -> logit, as sentence-transformers' MultipleNegativesRankingLoss
MAX_TOKENS = 128
CACHE = ROOT / ".cache" / "embedder-triplets.json"


def triplets_for(
    sets: dict[str, list[tuple[Path, str | None]]], limit: int | None = None
) -> list[tuple[str, str, str]]:
    """(question, a passage holding its evidence, a passage ranked high that does not)."""
    settings = Settings()
    embed_model = load_embed_model(settings.embed_model)
    out: list[tuple[str, str, str]] = []
    for corpus, datasets in sets.items():
        retriever = service_for(CORPORA[corpus], embed_model, None, settings).index().retriever
        items = [
            item
            for dataset, split in datasets
            for item in load_dataset(dataset)
            if split is None or item.split == split
        ]
        for item in items[:limit]:
            if not item.answerable:
                continue
            found = retriever.search_parts(item.question, DEPTH)[0]
            flags = relevant_flags([f"{r.chunk.text} \x00 {r.chunk.plain_text}" for r in found], item.evidence)
            positives = [r.chunk.index_text for r, f in zip(found, flags, strict=True) if f]
            if not positives:
                held = [
                    c for c in retriever.chunks if relevant_flags([f"{c.text} \x00 {c.plain_text}"], item.evidence)[0]
                ]
                positives = [c.index_text for c in held[:1]]
            negatives = [r.chunk.index_text for r, f in zip(found, flags, strict=True) if not f]
            if positives and negatives:
                out.append((item.question, positives[0], negatives[0]))
        print(f"{corpus}: {len(out)} triplets so far", flush=True)
    return out


def evaluate(encode, corpora: dict[str, list]) -> dict[str, dict[str, float]]:  # type: ignore[no-untyped-def]
    """Dense-only retrieval over each corpus's chunks: where the first passage holding a question's
    evidence ranks."""
    settings = Settings()
    embed_model = load_embed_model(settings.embed_model)
    results = {}
    for corpus, sets in corpora.items():
        chunks = service_for(CORPORA[corpus], embed_model, None, settings).index().retriever.chunks
        passages = encode([c.index_text for c in chunks])
        items = [i for path, split in sets for i in load_dataset(path) if (split is None or i.split == split)]
        items = [i for i in items if i.answerable and i.evidence]
        queries = encode([i.question for i in items])
        ranks = []
        texts = [f"{c.text} \x00 {c.plain_text}" for c in chunks]
        for item, q in zip(items, queries, strict=True):
            order = np.argsort(-(passages @ q))
            flags = relevant_flags([texts[j] for j in order[:50]], item.evidence)
            ranks.append(next((k for k, f in enumerate(flags) if f), 99))
        r = np.asarray(ranks)
        results[corpus] = {
            "n": len(r),
            "hit@1": float((r == 0).mean()),
            "hit@5": float((r < 5).mean()),
            "mrr@10": float(np.where(r < 10, 1.0 / (r + 1), 0.0).mean()),
        }
        print(corpus, results[corpus], flush=True)
    return results


class Encoder:
    """MiniLM with mean pooling and normalisation, as the packaged sentence-transformers model."""

    def __init__(self, model, tokenizer) -> None:  # type: ignore[no-untyped-def]
        self.model, self.tokenizer = model, tokenizer

    def forward(self, texts: list[str], max_tokens: int = MAX_TOKENS):  # type: ignore[no-untyped-def]
        import torch

        batch = self.tokenizer(texts, truncation=True, max_length=max_tokens, padding=True, return_tensors="pt")
        hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)

    def __call__(self, texts: list[str]) -> np.ndarray:
        import torch

        self.model.eval()
        with torch.inference_mode():
            out = [self.forward(texts[i : i + 64], 256).numpy() for i in range(0, len(texts), 64)]
        return np.concatenate(out) if out else np.zeros((0, 384))


def train(triplets: list[tuple[str, str, str]], minutes: float, started: float, epochs: int = 1):  # type: ignore[no-untyped-def]
    import torch
    from transformers import AutoModel, AutoTokenizer

    base = packaged_model_path()
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    model = AutoModel.from_pretrained(str(base))
    for parameter in model.embeddings.parameters():
        parameter.requires_grad = False
    encoder = Encoder(model, tokenizer)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=LEARNING_RATE, weight_decay=0.01)
    per_epoch = len(triplets) // BATCH
    order: list[tuple[str, str, str]] = []
    for _ in range(epochs):
        random.shuffle(triplets)
        order += triplets[: per_epoch * BATCH]
    triplets = order
    steps = len(triplets) // BATCH
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / (0.1 * steps)) * max(0.0, 1.0 - s / steps)
    )
    model.train()
    deadline = started + minutes * 60
    running: list[float] = []
    for step in range(steps):
        if time.perf_counter() > deadline:
            print(f"time budget reached after {step} of {steps} steps", flush=True)
            break
        chunk = triplets[step * BATCH : (step + 1) * BATCH]
        questions = encoder.forward([q for q, _, _ in chunk], 64)
        passages = encoder.forward([p for _, p, _ in chunk] + [n for _, _, n in chunk])
        logits = SCALE * questions @ passages.T
        # Another question's passage that is this question's own text is no negative.
        texts = [p for _, p, _ in chunk] + [n for _, _, n in chunk]
        same = torch.tensor([[t == p and j != i for j, t in enumerate(texts)] for i, (_, p, _) in enumerate(chunk)])
        logits = logits.masked_fill(same, -1e4)
        loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(chunk)))
        optimise(loss, trainable, optimizer, schedule, running)
        report(step, steps, running, started, 20)
    model.eval()
    return encoder


def packaged_encoder() -> Encoder:
    from transformers import AutoModel, AutoTokenizer

    base = packaged_model_path()
    return Encoder(AutoModel.from_pretrained(str(base)), AutoTokenizer.from_pretrained(str(base)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="training stops after this long")
    parser.add_argument("--out", type=Path, default=EMBEDDER_FILE)
    parser.add_argument("--sets", choices=("training", "all"), default="all", help="all: and the read sets")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--questions", type=int, default=None, help="per corpus (a tiny run for tests)")
    parser.add_argument("--evaluate-only", action="store_true", help="score the packaged embedder and stop")
    args = parser.parse_args(argv)
    import torch

    started = time.perf_counter()
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    held = {name: HELD_OUT[name] for name in ("osiolabs-handbook", "18f", "guide")}
    print("packaged embedder, dense only:", flush=True)
    before = evaluate(packaged_encoder(), held)
    if args.evaluate_only:
        return 0
    sets = {**TRAINING, **(TUNE if args.sets == "all" else {})}
    cache = CACHE.with_name(f"embedder-triplets-{args.sets}.json")
    if cache.is_file() and args.questions is None:
        triplets = [tuple(t) for t in json.loads(cache.read_text())]
    else:
        triplets = triplets_for(sets, args.questions)
        if args.questions is None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps(triplets))
    print(f"{len(triplets)} triplets; {time.perf_counter() - started:.0f} s", flush=True)
    encoder = train(triplets, args.minutes, started, args.epochs)  # type: ignore[arg-type]
    print("fine-tuned embedder (fp32), dense only:", flush=True)
    evaluate(encoder, held)
    quantized = torch.ao.quantization.quantize_dynamic(encoder.model, {torch.nn.Linear}, dtype=torch.qint8)
    print("fine-tuned embedder (int8, as shipped), dense only:", flush=True)
    after = evaluate(Encoder(quantized, encoder.tokenizer), held)
    state = quantized.state_dict()  # keeps its metadata: the quantized layers load by their version
    for key in [k for k in state if k.startswith("embeddings.")]:
        del state[key]  # frozen in training: the packaged model's own, loaded from its package
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, args.out)
    print(json.dumps({"before": before, "after": after}))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
