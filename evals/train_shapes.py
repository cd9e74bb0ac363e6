"""Fit the asked-shape classifier (rag/answering/asked_shape.py) on the `shape` labels of the
questions written over the training corpora and of the read sets, and report it on sets it never
saw. One seeded command:

    python -m evals.train_shapes [--out rag/answering/shape_model.json] [--report FILE]

The validation corpus and the held-out sets (18F's held-out split, the guide's blind sets) are only
scored, never fitted on."""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from evals.corpora import HELD_OUT, TRAINING, TUNE
from evals.dataset import load_dataset
from rag.answering.asked_shape import SEVERAL, SHAPE_FILE, ShapeModel
from rag.index.embedding import load_embed_model
from rag.settings import Settings

# Labels of the older sets that name no shape of answer.
NOT_SHAPES = frozenset({"followup", "unanswerable", ""})
# Inverse regularisation strength of the logistic model, chosen on the validation corpus (C = 1, 4, 16
# gave accuracy .670 / .675 / .662 there).
STRENGTH = 4.0
# Sample sizes of the learning curve.
CURVE = (250, 500, 1000, 2000)


def labelled(sets: dict[str, list[tuple[Path, str | None]]]) -> list[tuple[str, str]]:
    return [
        (item.question, str(item.shape))
        for pairs in sets.values()
        for path, split in pairs
        for item in load_dataset(path)
        if (split is None or item.split == split) and item.shape not in NOT_SHAPES
    ]


def fit(questions: list[tuple[str, str]], vectors: np.ndarray) -> ShapeModel:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=STRENGTH, max_iter=5000).fit(vectors, [shape for _, shape in questions])
    return ShapeModel(tuple(str(c) for c in model.classes_), model.coef_, model.intercept_)


def scores(model: ShapeModel, questions: list[tuple[str, str]], vectors: np.ndarray) -> dict[str, float]:
    predicted = [model.shape_of(v) for v in vectors]
    asked = [shape for _, shape in questions]
    several = [(p in SEVERAL, a in SEVERAL) for p, a in zip(predicted, asked, strict=True)]
    hits = sum(p and a for p, a in several)
    return {
        "n": len(asked),
        "accuracy": float(np.mean([p == a for p, a in zip(predicted, asked, strict=True)])),
        "several precision": hits / max(1, sum(p for p, _ in several)),
        "several recall": hits / max(1, sum(a for _, a in several)),
        "section recall": sum(p == a == "section" for p, a in zip(predicted, asked, strict=True))
        / max(1, asked.count("section")),
    }


def row(label: str, s: dict[str, float]) -> str:
    return (
        f"| {label} | {s['n']:.0f} | {s['accuracy']:.3f} | {s['several precision']:.3f} / "
        f"{s['several recall']:.3f} | {s['section recall']:.3f} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SHAPE_FILE)
    parser.add_argument("--report", type=Path, default=None, help="also write the held-out table here")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    embed_model = load_embed_model(Settings().embed_model, threads=2)
    train = labelled({**TRAINING, **TUNE})
    vectors = np.asarray(embed_model.get_text_embedding_batch([q for q, _ in train]))
    model = fit(train, vectors)
    model.save(args.out)
    print(f"{len(train)} questions {dict(Counter(s for _, s in train))}; wrote {args.out}")
    held = {}
    for name, sets in HELD_OUT.items():
        for path, split in sets:
            questions = labelled({name: [(path, split)]})
            if questions:
                label = f"{path.stem}{f' ({split})' if split else ''}"
                held[label] = (questions, np.asarray(embed_model.get_text_embedding_batch([q for q, _ in questions])))
    lines = [
        "| held-out set | n | accuracy | several: precision / recall | section recall |",
        "|---|---|---|---|---|",
        *(row(label, scores(model, q, v)) for label, (q, v) in held.items()),
        "",
        "Learning curve: accuracy (several: recall) held out against the number of questions fitted on",
        "(a seeded sample of them):",
        "",
        "| questions | " + " | ".join(held) + " |",
        "|---|" + "---|" * len(held),
    ]
    rng = np.random.default_rng(7)
    for size in [*(n for n in CURVE if n < len(train)), len(train)]:
        chosen = np.sort(rng.choice(len(train), size, replace=False))
        part = fit([train[i] for i in chosen], vectors[chosen])
        cells = [scores(part, q, v) for q, v in held.values()]
        lines.append(
            f"| {size} | " + " | ".join(f"{c['accuracy']:.3f} ({c['several recall']:.3f})" for c in cells) + " |"
        )
    print("\n".join(lines))
    if args.report:
        command = " ".join(["python -m evals.train_shapes", *(argv if argv is not None else sys.argv[1:])])
        args.report.write_text(f"# The asked-shape classifier, held out\n\n`{command}`\n\n" + "\n".join(lines) + "\n")
    print(f"{time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
