"""Fit the ranking weights (rag/ranking/weights.json) on the read sets of both corpora (default; `--sets
training|all` adds the questions written over the training corpora, cross-validated corpus by corpus),
and say by cross-validation and on the held-out sets what they are worth against the dense cosine
alone and a LightGBM LambdaRank model.
`python -m evals.train_ranker [--sets read] [--out rag/ranking/weights.json] [--folds 5]`.

The model is linear and pairwise: for each question, every relevant candidate should outscore every
irrelevant one; the loss is the mean logistic loss over those pairs, question by question, with an L2
penalty. A question with no relevant candidate teaches nothing and is left out of fitting."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import pickle
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from evals.corpora import CORPORA, HELD_OUT, ROOT, TRAINING, TUNE, service_for
from evals.dataset import load_dataset
from evals.metrics import relevant_flags
from rag.index.embedding import load_embed_model, model_identity
from rag.ranking.features import FEATURES
from rag.ranking.model import PLAIN_FUSION, WEIGHTS_FILE, LinearRanker
from rag.ranking.retrieval import HybridRetriever
from rag.settings import Settings

L2 = 0.01
DEPTH = 30


@dataclass
class Group:
    """One question's candidates: feature rows, relevance,"""

    corpus: str
    question: str
    rows: np.ndarray
    relevant: np.ndarray


def groups_for(retriever: HybridRetriever, corpus: str, items, split: str | None) -> list[Group]:  # type: ignore[no-untyped-def]
    groups = []
    for item in items:
        if (split is not None and item.split != split) or not item.answerable or not item.evidence or item.follows:
            continue
        question = item.question
        dense = retriever.dense.ranking(question, DEPTH)
        lexical = retriever.bm25_ranking(question, DEPTH)
        indices, rows = retriever.candidate_rows(question, dense, lexical)
        # A Markdown chunk's evidence may be written over its text as read (without markup) or as stored.
        chunks = [retriever.chunks[i] for i in indices]
        relevant = np.asarray(relevant_flags([f"{c.text} \x00 {c.plain_text}" for c in chunks], item.evidence))
        groups.append(Group(corpus, item.question, rows, relevant))
    return groups


# Only the irrelevant candidates the plain fusion ranks this high are contrasted with the relevant
# ones: what decides the first places is beating the near misses, not the hundredth passage.
HARD_NEGATIVES = 10


def pairs(groups: list[Group]) -> list[np.ndarray]:
    """Per question, the differences (relevant minus irrelevant) of its pairs of candidates."""
    out = []
    for g in groups:
        near = np.zeros(len(g.rows), dtype=bool)
        near[np.argsort(-(g.rows @ PLAIN_FUSION), kind="stable")[:HARD_NEGATIVES]] = True
        pos, neg = g.rows[g.relevant], g.rows[~g.relevant & near]
        if len(pos) and len(neg):
            out.append((pos[:, None, :] - neg[None, :, :]).reshape(-1, g.rows.shape[1]))
    return out


def fit(groups: list[Group], mask: np.ndarray | None = None) -> np.ndarray:
    """Weights (one per feature; a masked-out feature gets 0) minimising the listwise softmax loss:
    per question, minus the log of the probability a softmax over its candidates' scores puts on the
    relevant ones. What it rewards is a relevant passage at the very top, which is what is read."""
    keep = np.ones(len(FEATURES), dtype=bool) if mask is None else mask
    fitted = [g for g in groups if g.relevant.any() and not g.relevant.all()]
    scale = np.std(np.vstack([g.rows for g in fitted]), axis=0) + 1e-9
    rows = [g.rows[:, keep] / scale[keep] for g in fitted]
    relevant = [g.relevant for g in fitted]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.0, np.zeros_like(w)
        for x, rel in zip(rows, relevant, strict=True):
            s = x @ w
            s = s - s.max()
            p = np.exp(s) / np.exp(s).sum()
            q = p * rel / (p * rel).sum()  # the softmax restricted to the relevant candidates
            total -= float(np.log((p * rel).sum()))
            grad += x.T @ (p - q)
        n = len(rows)
        return total / n + L2 * float(w @ w), grad / n + 2 * L2 * w

    result = minimize(loss, np.zeros(int(keep.sum())), jac=True, method="L-BFGS-B")
    weights = np.zeros(len(FEATURES))
    weights[keep] = result.x / scale[keep]
    cosine = weights[FEATURES.index("cosine")]
    # Scores in units of cosine: the answerer compares a passage's score with the best one's.
    return weights / cosine if cosine > 0 else weights / (np.abs(weights).max() or 1.0)


def ranks(scores: np.ndarray, relevant: np.ndarray) -> int | None:
    order = np.argsort(-scores, kind="stable")
    hits = np.flatnonzero(relevant[order])
    return int(hits[0]) + 1 if len(hits) else None


def quality(groups: list[Group], score) -> dict[str, float]:  # type: ignore[no-untyped-def]
    first = [ranks(score(g), g.relevant) for g in groups]
    n = len(first) or 1
    return {
        "hit@1": sum(r == 1 for r in first) / n,
        "hit@3": sum(r is not None and r <= 3 for r in first) / n,
        "mrr@10": sum(1 / r for r in first if r is not None and r <= 10) / n,
    }


def linear_scores(weights: np.ndarray, group: Group) -> np.ndarray:
    return group.rows @ weights


def folds_of(groups: list[Group], k: int) -> list[list[int]]:
    """Corpus by corpus when there are several (what transfers to documents not fitted on), else `k`
    folds of questions."""
    corpora = sorted({g.corpus for g in groups})
    if len(corpora) >= 3:
        return [[i for i, g in enumerate(groups) if g.corpus == c] for c in corpora]
    order = np.random.default_rng(17).permutation(len(groups))
    return [sorted(order[i::k].tolist()) for i in range(k)]


def lambdarank(train: list[Group]):  # type: ignore[no-untyped-def]
    import lightgbm

    model = lightgbm.LGBMRanker(
        objective="lambdarank", n_estimators=200, learning_rate=0.05, num_leaves=7, min_child_samples=10, verbose=-1
    )
    model.fit(
        np.vstack([g.rows for g in train]),
        np.concatenate([g.relevant.astype(int) for g in train]),
        group=[len(g.rows) for g in train],
    )
    return lambda g: model.predict(g.rows)


def cross_validate(groups: list[Group], k: int, mask: np.ndarray | None = None, models: bool = True) -> dict:
    """Mean over held-out folds, for each corpus and overall: the dense cosine alone, linear, (LambdaRank)."""
    scored: dict[str, dict[str, list[float]]] = {}
    for fold in folds_of(groups, k):
        held = [groups[i] for i in fold]
        train = [g for i, g in enumerate(groups) if i not in set(fold)]
        w = fit(train, mask)
        systems: dict[str, Callable[[Group], np.ndarray]] = {"linear": partial(linear_scores, w)}
        if models:
            systems["cosine"] = lambda g: g.rows[:, FEATURES.index("cosine")]
            with contextlib.suppress(ImportError):  # LightGBM is in the eval extras only
                systems["lambdarank"] = lambdarank(train)
        for name, score in systems.items():
            for corpus in [*sorted({g.corpus for g in groups}), "all"]:
                subset = [g for g in held if corpus in ("all", g.corpus)]
                for metric, value in quality(subset, score).items():
                    scored.setdefault(f"{name}|{corpus}", {}).setdefault(metric, []).extend([value] * len(subset))
    return {key: {m: float(np.mean(v)) for m, v in metrics.items()} for key, metrics in scored.items()}


def feature_ablation(groups: list[Group], k: int, shipped: dict) -> str:
    """Each feature left out in turn, the model refitted and cross-validated: what it is worth on each corpus."""
    corpora = sorted({g.corpus for g in groups})
    columns = [(c, m) for c in corpora for m in ("hit@1", "mrr@10")]
    lines = [
        "# Ranking features: each left out, refitted, cross-validated",
        "",
        f"`python -m evals.train_ranker --ablation …`: {k}-fold cross-validation by question over the tune sets of "
        "both corpora (candidate rankings of one search, before parts and answer shapes). A feature that does not "
        "pay on both corpora is a candidate to go.",
        "",
        "| model | " + " | ".join(f"{c} {m}" for c, m in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]

    def row(name: str, cv: dict) -> str:
        return f"| {name} | " + " | ".join(f"{cv[f'linear|{c}'][m]:.3f}" for c, m in columns) + " |"

    lines.append(row("all features", shipped))
    lines.append("| dense cosine alone | " + " | ".join(f"{shipped[f'cosine|{c}'][m]:.3f}" for c, m in columns) + " |")
    for i, name in enumerate(FEATURES):
        if name == "cosine":
            continue  # the unit scores are measured in
        mask = np.ones(len(FEATURES), dtype=bool)
        mask[i] = False
        lines.append(row(f"without {name}", cross_validate(groups, k, mask, models=False)))
    return "\n".join(lines) + "\n"


class GroupUnpickler(pickle.Unpickler):
    """Reads cached groups whichever module pickled them (`python -m evals.train_ranker` pickles them as
    `__main__.Group`)."""

    def find_class(self, module: str, name: str):  # type: ignore[no-untyped-def]
        return Group if name == "Group" else super().find_class(module, name)


def collect(sets: dict[str, list[tuple[Path, str | None]]], cache: Path | None = None) -> list[Group]:
    """The candidate groups of every question of `sets` (corpus -> datasets), each corpus over its own
    index; with `cache`, each corpus's groups are kept there and read back while its sets and the
    features are unchanged (the learning curve fits many times on the same candidates)."""
    settings = Settings()
    embed_model = None
    groups: list[Group] = []
    for corpus, datasets in sets.items():
        if not datasets:
            continue
        key = hashlib.sha256(
            json.dumps(
                [
                    FEATURES,
                    corpus,
                    [(str(d), s, d.stat().st_mtime) for d, s in datasets],
                    model_identity(settings.embed_model),  # another embedder gives other candidates
                ]
            ).encode()
        ).hexdigest()[:16]
        stored = cache / f"{corpus}-{key}.pkl" if cache else None
        if stored is not None and stored.is_file():
            groups += GroupUnpickler(io.BytesIO(stored.read_bytes())).load()
            continue
        embed_model = embed_model or load_embed_model(settings.embed_model)
        retriever = service_for(CORPORA[corpus], embed_model, None, settings).index().retriever
        found: list[Group] = []
        for dataset, split in datasets:
            found += groups_for(retriever, corpus, load_dataset(dataset), split)
        if stored is not None:
            stored.parent.mkdir(parents=True, exist_ok=True)
            stored.write_bytes(pickle.dumps(found))
        groups += found
    return groups


# The corpora the reader learned from (evals/train_reader.py): its score there is better than anywhere
# else, so the abstention model, which weighs it, is fitted on the other corpora (by default, the
# ranker's `--sets training|all` leave them out too, so the two fits compare).
READER_CORPORA = ("civicactions-guidebook", "meltano-handbook", "turing-way")


def training_sets(which: str, exclude: tuple[str, ...] = READER_CORPORA) -> dict[str, list[tuple[Path, str | None]]]:
    """`read`: the sets read question by question (the guide's and 18F's tune split); `training`: the
    questions written blind over the training corpora (the validation corpus never among them); `all`;
    without the corpora in `exclude`."""
    chosen: dict[str, list[tuple[Path, str | None]]] = {}
    for name, sets in (("read", TUNE), ("training", TRAINING)):
        if which in (name, "all"):
            for corpus, datasets in sets.items():
                if corpus not in exclude:
                    chosen.setdefault(corpus, []).extend(datasets)
    return chosen


def sample(groups: list[Group], limit: int | None, seed: int = 23) -> list[Group]:
    """`limit` questions drawn at random (seeded), for the learning curve; all of them without one."""
    if limit is None or limit >= len(groups):
        return groups
    keep = np.random.default_rng(seed).choice(len(groups), size=limit, replace=False)
    return [groups[i] for i in sorted(keep)]


def held_out_quality(weights: np.ndarray, held: list[Group]) -> dict[str, dict[str, float]]:
    """hit@1 / hit@3 / MRR@10 of `weights` on each held-out corpus's candidate groups."""
    by_corpus: dict[str, dict[str, float]] = {}
    for corpus in sorted({g.corpus for g in held}):
        subset = [g for g in held if g.corpus == corpus]
        by_corpus[corpus] = quality(subset, partial(linear_scores, weights)) | {"questions": len(subset)}
    return by_corpus


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(WEIGHTS_FILE))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--sets", choices=("read", "training", "all"), default="read")
    parser.add_argument("--limit", type=int, default=None, help="fit on this many questions (learning curve)")
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "ranker", help="candidate groups kept here")
    parser.add_argument(
        "--ablation", default=None, help="also write each feature's cross-validated worth here (Markdown)"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    sets = training_sets(args.sets)
    groups = sample([g for g in collect(sets, args.cache) if g.relevant.any()], args.limit)
    held = [g for g in collect(HELD_OUT, args.cache) if g.relevant.any()]
    print(f"{len(groups)} training questions with a relevant candidate in the top {DEPTH} of either search")
    cv = cross_validate(groups, args.folds)
    for key, metrics in sorted(cv.items()):
        print(f"{key:32s} " + "  ".join(f"{m} {v:.3f}" for m, v in metrics.items()))
    weights = fit(groups)
    shipped = LinearRanker.load()
    held_out = {
        "fitted": held_out_quality(weights, held),
        "shipped before": held_out_quality(shipped.weights, held) if shipped else {},
        "cosine alone": held_out_quality(np.asarray([n == "cosine" for n in FEATURES], dtype=float), held),
    }
    for system, by_corpus in held_out.items():
        for corpus, metrics in by_corpus.items():
            print(f"held out | {system:14s} | {corpus:18s} " + "  ".join(f"{m} {v:.3f}" for m, v in metrics.items()))
    if args.ablation:
        Path(args.ablation).parent.mkdir(parents=True, exist_ok=True)
        Path(args.ablation).write_text(feature_ablation(groups, args.folds, cv), encoding="utf-8")
        print(f"wrote {args.ablation}")
    Path(args.out).write_text(
        json.dumps(
            {
                "features": list(FEATURES),
                "weights": [round(float(w), 6) for w in weights],
                "trained_on": {c: [f"{d.name}:{split or 'all'}" for d, split in v] for c, v in sets.items()},
                "questions": {c: sum(g.corpus == c for g in groups) for c in sets},
                "cross_validated": cv,
                "held_out": held_out,
                "command": " ".join(["python -m evals.train_ranker", *(argv if argv is not None else sys.argv[1:])]),
                "trained": time.strftime("%Y-%m-%d"),
            },
            indent=1,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"wrote {args.out} in {time.perf_counter() - started:.0f} s")
    for name, w in zip(FEATURES, weights, strict=True):
        print(f"  {name:22s} {w:+.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
