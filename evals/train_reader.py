"""Train the reader (rag/ranking/reader.py): a cross-encoder fine-tuned from the packaged MiniLM-L6
weights on (question, passage) pairs of the training corpora. One seeded command that prints its time:

    python -m evals.train_reader [--minutes 40] [--out rag/ranking/reader.int8.pt]

Pairs: for each question written over the reader's corpora, the passages holding its evidence are
positives and the best-ranked passages that do not (today's ranker, same document set) are hard
negatives; a near miss's best passages are negatives too (they name the topic and do not answer).
The reader learns from some training corpora only (READER_CORPORA); the ranker and the abstention
model weigh its score on the others, so the weight they give it is what it is worth on documents it
never read. The validation corpus and the evaluation corpora are never read in training."""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

from evals.corpora import CORPORA, TRAINING, service_for
from evals.dataset import load_dataset
from evals.metrics import relevant_flags
from evals.train_ranker import READER_CORPORA
from evals.training_loop import optimise, report
from rag.index.embedding import load_embed_model, packaged_model_path
from rag.ranking.reader import MAX_TOKENS, READER_FILE, ReaderModel, passage_text
from rag.settings import Settings

DEPTH = 12
NEGATIVES = 3
BATCH = 16
LEARNING_RATE = 3e-5


def pairs_for(corpora: tuple[str, ...], limit: int | None = None) -> list[tuple[str, str, float]]:
    settings = Settings()
    embed_model = load_embed_model(settings.embed_model)
    pairs: list[tuple[str, str, float]] = []
    for corpus in corpora:
        retriever = service_for(CORPORA[corpus], embed_model, None, settings).index().retriever
        items = [item for dataset, _ in TRAINING[corpus] for item in load_dataset(dataset)]
        for item in items[:limit]:
            found = retriever.search_parts(item.question, DEPTH)[0]
            texts = [passage_text(r.chunk.section_path, r.chunk.plain_text) for r in found]
            if not item.answerable:
                pairs += [(item.question, t, 0.0) for t in texts[:2]]
                continue
            flags = relevant_flags([f"{r.chunk.text} \x00 {r.chunk.plain_text}" for r in found], item.evidence)
            positives = [t for t, f in zip(texts, flags, strict=True) if f]
            if not positives:  # the evidence's own passage, wherever the ranker left it
                held = [
                    c for c in retriever.chunks if relevant_flags([f"{c.text} \x00 {c.plain_text}"], item.evidence)[0]
                ]
                positives = [passage_text(c.section_path, c.plain_text) for c in held[:2]]
            negatives = [t for t, f in zip(texts, flags, strict=True) if not f][:NEGATIVES]
            pairs += [(item.question, t, 1.0) for t in positives[:2]]
            pairs += [(item.question, t, 0.0) for t in negatives]
    return pairs


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    pos, neg = scores[labels > 0.5], scores[labels < 0.5]
    if not len(pos) or not len(neg):
        return float("nan")
    return float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())


def train(pairs: list[tuple[str, str, float]], minutes: float, out: Path, started: float | None = None) -> None:
    """Fine-tune the reader on `pairs` (question, passage, 1.0 if it answers) for at most `minutes`,
    and write it, int8, to `out`."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    started = time.perf_counter() if started is None else started
    random.shuffle(pairs)
    held = pairs[: max(1, len(pairs) // 20)]
    train = pairs[len(held) :]
    print(
        f"{len(train)} training pairs ({sum(p[2] for p in train):.0f} positive), {len(held)} held out; "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )
    base = packaged_model_path()
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    model = ReaderModel(AutoModel.from_pretrained(str(base)))
    # The embeddings stay the packaged model's (they do not ship): only the layers above learn.
    for parameter in model.encoder.embeddings.parameters():
        parameter.requires_grad = False
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=LEARNING_RATE, weight_decay=0.01)
    steps = (len(train) + BATCH - 1) // BATCH
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / (0.06 * steps)) * max(0.0, 1.0 - s / steps)
    )
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def batch_of(chunk: list[tuple[str, str, float]]):  # type: ignore[no-untyped-def]
        encoded = tokenizer(
            [q for q, _, _ in chunk],
            [p for _, p, _ in chunk],
            truncation="only_second",
            max_length=MAX_TOKENS,
            padding=True,
            return_tensors="pt",
        )
        return encoded, torch.tensor([y for _, _, y in chunk], dtype=torch.float32)

    def held_out_auc() -> float:
        model.eval()
        scores = []
        with torch.inference_mode():
            for i in range(0, len(held), 64):
                encoded, _ = batch_of(held[i : i + 64])
                scores.append(model(**encoded).numpy())
        model.train()
        return auc(np.concatenate(scores), np.asarray([y for _, _, y in held]))

    print(f"held-out pair AUC before training: {held_out_auc():.3f}", flush=True)
    model.train()
    deadline = started + minutes * 60
    running: list[float] = []
    for step in range(steps):
        if time.perf_counter() > deadline:
            print(f"time budget reached after {step} of {steps} steps", flush=True)
            break
        encoded, labels = batch_of(train[step * BATCH : (step + 1) * BATCH])
        loss = loss_fn(model(**encoded), labels)
        optimise(loss, trainable, optimizer, schedule, running)
        report(step, steps, running, started, 50)
    print(f"held-out pair AUC after training (fp32): {held_out_auc():.3f}", flush=True)
    model.eval()
    quantized = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    state = quantized.state_dict()  # keeps its metadata: the quantized layers load by their version
    for key in [k for k in state if k.startswith("encoder.embeddings.")]:
        del state[key]
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, out)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=40.0, help="training stops after this long")
    parser.add_argument("--out", type=Path, default=READER_FILE)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--questions", type=int, default=None, help="per corpus (a tiny run for tests)")
    parser.add_argument("--corpora", default=",".join(READER_CORPORA))
    args = parser.parse_args(argv)
    import torch

    started = time.perf_counter()
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    pairs = pairs_for(tuple(args.corpora.split(",")), args.questions)
    train(pairs, args.minutes, args.out, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
