"""Fit the ranking weights (rag/ranking/weights.json) on the tune splits of both corpora, and say by
cross-validation what they are worth against the hand-set ranking and a LightGBM LambdaRank model.
`python -m evals.train_ranker [--out rag/ranking/weights.json] [--folds 5]`.

The model is linear and pairwise: for each question, every relevant candidate should outscore every
irrelevant one; the loss is the mean logistic loss over those pairs, question by question, with an L2
penalty. A question with no relevant candidate teaches nothing and is left out of fitting."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from evals.corpora import CORPORA, TUNE, service_for
from evals.dataset import load_dataset
from evals.metrics import relevant_flags
from rag.index.embedding import load_embed_model
from rag.ranking.features import FEATURES
from rag.ranking.model import PLAIN_FUSION, WEIGHTS_FILE
from rag.ranking.retrieval import HybridRetriever, RetrievalConfig
from rag.settings import Settings

L2 = 0.01
DEPTH = 30


@dataclass
class Group:
    """One question's candidates: feature rows, relevance, and the hand-set ranking's scores."""

    corpus: str
    question: str
    rows: np.ndarray
    relevant: np.ndarray
    hand_set: np.ndarray


def groups_for(retriever: HybridRetriever, corpus: str, items, split: str | None) -> list[Group]:  # type: ignore[no-untyped-def]
    groups = []
    for item in items:
        if (split is not None and item.split != split) or not item.answerable or not item.evidence or item.follows:
            continue
        question = retriever.searched_question(item.question)
        dense = retriever.dense_ranking(question, DEPTH)
        lexical = retriever.bm25_ranking(question, DEPTH)
        indices, rows = retriever.candidate_rows(question, dense, lexical)
        relevant = np.asarray(relevant_flags([retriever.chunks[i].text for i in indices], item.evidence))
        hand = retriever.hand_set_scores(question, dense, lexical, True)
        groups.append(Group(corpus, item.question, rows, relevant, np.asarray([hand.get(i, -9.0) for i in indices])))
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
    """Mean over held-out folds, for each corpus and overall: hand-set, linear, (LambdaRank)."""
    scored: dict[str, dict[str, list[float]]] = {}
    for fold in folds_of(groups, k):
        held = [groups[i] for i in fold]
        train = [g for i, g in enumerate(groups) if i not in set(fold)]
        w = fit(train, mask)
        systems: dict[str, Callable[[Group], np.ndarray]] = {"linear": partial(linear_scores, w)}
        if models:
            systems["hand-set"] = lambda g: g.hand_set
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
    lines.append("| hand-set ranking | " + " | ".join(f"{shipped[f'hand-set|{c}'][m]:.3f}" for c, m in columns) + " |")
    for i, name in enumerate(FEATURES):
        if name == "cosine":
            continue  # the unit scores are measured in
        mask = np.ones(len(FEATURES), dtype=bool)
        mask[i] = False
        lines.append(row(f"without {name}", cross_validate(groups, k, mask, models=False)))
    return "\n".join(lines) + "\n"


def collect(sets: dict[str, list[tuple[Path, str | None]]]) -> list[Group]:
    settings = Settings()
    embed_model = load_embed_model(settings.embed_model)
    groups = []
    for corpus, corpus_dir in CORPORA.items():
        if not sets.get(corpus):
            continue
        service = service_for(corpus_dir, embed_model, RetrievalConfig(learned=False), settings)
        retriever = service.index().retriever
        for dataset, split in sets[corpus]:
            groups += groups_for(retriever, corpus, load_dataset(dataset), split)
    return groups


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(WEIGHTS_FILE))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--ablation", default=None, help="also write each feature's cross-validated worth here (Markdown)"
    )
    args = parser.parse_args(argv)
    groups = collect(TUNE)
    usable = [g for g in groups if g.relevant.any()]
    print(f"{len(groups)} questions, {len(usable)} with a relevant candidate in the top {DEPTH} of either search")
    cv = cross_validate(usable, args.folds)
    for key, metrics in sorted(cv.items()):
        print(f"{key:24s} " + "  ".join(f"{m} {v:.3f}" for m, v in metrics.items()))
    weights = fit(usable)
    if args.ablation:
        Path(args.ablation).parent.mkdir(parents=True, exist_ok=True)
        Path(args.ablation).write_text(feature_ablation(usable, args.folds, cv), encoding="utf-8")
        print(f"wrote {args.ablation}")
    Path(args.out).write_text(
        json.dumps(
            {
                "features": list(FEATURES),
                "weights": [round(float(w), 6) for w in weights],
                "trained_on": {c: [f"{d.name}:{split or 'all'}" for d, split in TUNE[c]] for c in CORPORA},
                "questions": {c: sum(g.corpus == c for g in usable) for c in CORPORA},
                "cross_validated": cv,
                "command": "python -m evals.train_ranker",
                "trained": time.strftime("%Y-%m-%d"),
            },
            indent=1,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"wrote {args.out}")
    for name, w in zip(FEATURES, weights, strict=True):
        print(f"  {name:22s} {w:+.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
