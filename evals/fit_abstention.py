"""Fit the abstention model (rag/answering/abstaining.py) on the tune sets of both corpora and choose its
threshold: `python -m evals.fit_abstention [--out rag/answering/abstention.json] [--report evals/reports/abstention.md]`.

A logistic model over the signals, classes weighted equally (unanswerable questions are the fewer),
with an L2 penalty. The threshold is chosen on out-of-fold probabilities (5 folds), so that it is set
on questions the weights were not fitted on: the most unanswerable questions declined while at most
3 % of answerable ones are; the precision/recall curve of declining is reported with it."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from evals.calibrate import MAX_FALSE_ABSTENTION, calibrate
from evals.corpora import CORPORA, TUNE, service_for
from evals.dataset import load_dataset
from rag.answering.abstaining import SIGNALS
from rag.index.embedding import load_embed_model
from rag.settings import DEFAULT_THRESHOLD_FILE, Settings

L2 = 0.05
FOLDS = 5
ROOT = Path(__file__).resolve().parent.parent


def collect() -> tuple[np.ndarray, np.ndarray, list[str]]:
    settings = Settings()
    embed_model = load_embed_model(settings.embed_model)
    rows, labels, corpora = [], [], []
    for corpus, corpus_dir in CORPORA.items():
        service = service_for(corpus_dir, embed_model, None, settings)
        retriever = service.index().retriever
        for dataset, split in TUNE[corpus]:
            for item in load_dataset(dataset):
                if item.follows or (split is not None and item.split != split):
                    continue
                resolved = retriever.searched_question(item.question)
                retrieved, _ = service.retrieve_parts(item.question, settings.top_k)
                rows.append(retriever.abstention_signals(resolved, retrieved))
                labels.append(item.answerable)
                corpora.append(corpus)
    return np.asarray(rows), np.asarray(labels, dtype=bool), corpora


def fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Weights and bias of a class-balanced, L2-penalised logistic regression (on standardised signals)."""
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mean) / scale
    weight = np.where(y, 0.5 / max(y.sum(), 1), 0.5 / max((~y).sum(), 1))
    target = y.astype(float)

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = params[:-1], params[-1]
        logit = z @ w + b
        p = 1.0 / (1.0 + np.exp(-logit))
        value = float(np.sum(weight * (np.logaddexp(0.0, logit) - target * logit))) + L2 * float(w @ w)
        residual = weight * (p - target)
        return value, np.concatenate([z.T @ residual + 2 * L2 * w, [residual.sum()]])

    params = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B").x
    w = params[:-1] / scale
    return w, float(params[-1] - w @ mean)


def probabilities(x: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(x @ w + b)))


def out_of_fold(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    folds = np.random.default_rng(4).permutation(len(y)) % FOLDS
    p = np.zeros(len(y))
    for k in range(FOLDS):
        w, b = fit(x[folds != k], y[folds != k])
        p[folds == k] = probabilities(x[folds == k], w, b)
    return p


def curve_table(p: np.ndarray, y: np.ndarray, corpora: list[str]) -> list[str]:
    lines = [
        "| threshold | declined: unanswerable (recall) | declined: answerable | precision of declining |",
        "|---|---|---|---|",
    ]
    for t in (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        declined = p < t
        recall = (declined & ~y).sum() / max((~y).sum(), 1)
        false = (declined & y).sum() / max(y.sum(), 1)
        precision = (declined & ~y).sum() / max(declined.sum(), 1)
        lines.append(f"| {t:.2f} | {recall:.3f} | {false:.3f} | {precision:.3f} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(DEFAULT_THRESHOLD_FILE))
    parser.add_argument("--report", default=str(ROOT / "evals" / "reports" / "abstention.md"))
    args = parser.parse_args(argv)
    x, y, corpora = collect()
    held = out_of_fold(x, y)
    calibration = calibrate(list(zip(held.tolist(), y.tolist(), strict=True)), MAX_FALSE_ABSTENTION)
    w, b = fit(x, y)
    threshold = calibration.threshold
    by_corpus = {}
    for corpus in CORPORA:
        mask = np.asarray([c == corpus for c in corpora])
        yy, pp = y[mask], held[mask]
        by_corpus[corpus] = {
            "answerable": int(yy.sum()),
            "unanswerable": int((~yy).sum()),
            "unanswerable_declined": round(float(((pp < threshold) & ~yy).sum() / max((~yy).sum(), 1)), 3),
            "answerable_declined": round(float(((pp < threshold) & yy).sum() / max(yy.sum(), 1)), 3),
        }
    trained_on = {c: [f"{d.name}:{s or 'all'}" for d, s in TUNE[c]] for c in CORPORA}
    payload = {
        "threshold": threshold,
        "model": {"signals": list(SIGNALS), "weights": [round(float(v), 6) for v in w], "bias": round(b, 6)},
        "trained_on": trained_on,
        "out_of_fold": by_corpus,
        "command": "python -m evals.fit_abstention",
        "calibrated": time.strftime("%Y-%m-%d"),
    }
    Path(args.out).write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    lines = [
        "# Abstention: a calibrated decision on generic signals",
        "",
        f"`{payload['command']}` on {time.strftime('%Y-%m-%d')}: a logistic model over the signals of",
        "`rag/answering/abstaining.py`, fitted on the tune sets of both corpora "
        + ", ".join(f"{c}: {', '.join(v)}" for c, v in trained_on.items())
        + ". The threshold is chosen on out-of-fold probabilities (5 folds): the most unanswerable",
        f"questions declined with at most {MAX_FALSE_ABSTENTION:.0%} of answerable ones declined.",
        "",
        f"Threshold: **{threshold:.4f}**.",
        "",
        "| corpus | answerable | unanswerable | unanswerable declined (out of fold) | answerable declined (out of fold) |",
        "|---|---|---|---|---|",
        *(
            f"| {c} | {v['answerable']} | {v['unanswerable']} | {v['unanswerable_declined']:.3f} | {v['answerable_declined']:.3f} |"
            for c, v in by_corpus.items()
        ),
        "",
        "Weights (per unit of each signal):",
        "",
        "| signal | weight |",
        "|---|---|",
        *(f"| {name} | {weight:+.4f} |" for name, weight in zip(SIGNALS, w, strict=True)),
        f"| (bias) | {b:+.4f} |",
        "",
        "Precision/recall of declining, out of fold, both corpora:",
        "",
        *curve_table(held, y, corpora),
        "",
    ]
    Path(args.report).parent.mkdir(parents=True, exist_ok=True)
    Path(args.report).write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
