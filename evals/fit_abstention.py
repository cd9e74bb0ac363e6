"""Fit the abstention model (rag/answering/abstaining.py) on the read sets of both corpora (default;
`--sets training|all` adds the training corpora' questions) and choose its
threshold: `python -m evals.fit_abstention [--out rag/answering/abstention.json] [--report evals/reports/abstention.md]`.

A logistic model over the signals, classes weighted equally (unanswerable questions are the fewer),
with an L2 penalty. The threshold is chosen on out-of-fold probabilities (5 folds), so that it is set
on questions the weights were not fitted on: the most unanswerable questions declined while at most
3 % of answerable ones are; the precision/recall curve of declining is reported with it."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from evals.calibrate import MAX_FALSE_ABSTENTION, calibrate
from evals.corpora import CORPORA, HELD_OUT, service_for
from evals.dataset import load_dataset
from evals.train_ranker import training_sets
from rag.answering.abstaining import SIGNALS
from rag.index.embedding import load_embed_model, model_identity
from rag.settings import DEFAULT_THRESHOLD_FILE, Settings

L2 = 0.05
FOLDS = 5
ROOT = Path(__file__).resolve().parent.parent


def collect(
    sets: dict[str, list[tuple[Path, str | None]]], cache: Path | None = None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The signals of every question of `sets` (corpus -> datasets) over its corpus's index, whether it
    is answerable, and its corpus; with `cache`, kept there while the sets and the code are unchanged."""
    settings = Settings()
    embed_model = None
    rows, labels, corpora = [], [], []
    for corpus, datasets in sets.items():
        if not datasets:
            continue
        key = hashlib.sha256(
            json.dumps([SIGNALS, corpus, [(str(d), s, d.stat().st_mtime) for d, s in datasets], code_stamp()]).encode()
        ).hexdigest()[:16]
        stored = cache / f"{corpus}-{key}.npz" if cache else None
        if stored is not None and stored.is_file():
            data = np.load(stored)
            rows += list(data["x"])
            labels += data["y"].tolist()
            corpora += [corpus] * len(data["y"])
            continue
        embed_model = embed_model or load_embed_model(settings.embed_model)
        service = service_for(CORPORA[corpus], embed_model, None, settings)
        x, y = [], []
        for dataset, split in datasets:
            for item in load_dataset(dataset):
                if item.follows or (split is not None and item.split != split):
                    continue
                x.append(service.rank(item.question, settings.top_k).signals)
                y.append(item.answerable)
        if stored is not None:
            stored.parent.mkdir(parents=True, exist_ok=True)
            np.savez(stored, x=np.asarray(x), y=np.asarray(y, dtype=bool))
        rows += x
        labels += y
        corpora += [corpus] * len(y)
    return np.asarray(rows), np.asarray(labels, dtype=bool), corpora


def reader_stamp() -> str:
    """Which reader gave the `reader_best` signal: none (off or not shipped) or the weights file's hash."""
    from rag.ranking.reader import READER_FILE

    if Settings().reader == "off" or not READER_FILE.is_file():
        return "off"
    return hashlib.sha256(READER_FILE.read_bytes()).hexdigest()[:16]


def code_stamp() -> str:
    """What the signals depend on besides the questions: the ranker's weights, the signal code and
    the embedder."""
    parts = [ROOT / "rag" / "ranking" / "weights.json", ROOT / "rag" / "ranking" / "signals.py"]
    stamp = b"".join(p.read_bytes() for p in parts if p.is_file()) + (reader_stamp() + model_identity()).encode()
    return hashlib.sha256(stamp).hexdigest()


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


def out_of_fold(x: np.ndarray, y: np.ndarray, corpora: list[str]) -> np.ndarray:
    """Probabilities from models not fitted on each question: corpus by corpus when there are several
    (the threshold is then set on documents the weights never saw), else in FOLDS folds."""
    names = sorted(set(corpora))
    if len(names) >= 3:
        folds = np.asarray([names.index(c) for c in corpora])
        p = np.zeros(len(y))
        for k in range(len(names)):
            w, b = fit(x[folds != k], y[folds != k])
            p[folds == k] = probabilities(x[folds == k], w, b)
        return p
    folds = np.random.default_rng(4).permutation(len(y)) % FOLDS
    p = np.zeros(len(y))
    for k in range(FOLDS):
        w, b = fit(x[folds != k], y[folds != k])
        p[folds == k] = probabilities(x[folds == k], w, b)
    return p


def fit_with_threshold(x: np.ndarray, y: np.ndarray, corpora: list[str]) -> tuple[np.ndarray, float, float, np.ndarray]:
    """Weights and bias fitted on all of `x`, the threshold chosen on out-of-fold probabilities (at most
    MAX_FALSE_ABSTENTION of answerable questions declined), and those probabilities."""
    held = out_of_fold(x, y, corpora)
    threshold = calibrate(list(zip(held.tolist(), y.tolist(), strict=True)), MAX_FALSE_ABSTENTION).threshold
    w, b = fit(x, y)
    return w, b, threshold, held


def declined_by_corpus(
    p: np.ndarray, y: np.ndarray, corpora: list[str], threshold: float
) -> dict[str, dict[str, float]]:
    """Per corpus: how many answerable and unanswerable questions, and the share of each declined."""
    out: dict[str, dict[str, float]] = {}
    for corpus in sorted(set(corpora)):
        mask = np.asarray([c == corpus for c in corpora])
        yy, declined = y[mask], p[mask] < threshold
        out[corpus] = {
            "answerable": int(yy.sum()),
            "unanswerable": int((~yy).sum()),
            "unanswerable_declined": round(float((declined & ~yy).sum() / max((~yy).sum(), 1)), 3),
            "answerable_declined": round(float((declined & yy).sum() / max(yy.sum(), 1)), 3),
        }
    return out


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
    parser.add_argument("--sets", choices=("read", "training", "all"), default="read")
    parser.add_argument("--limit", type=int, default=None, help="fit on this many questions (learning curve)")
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "abstention")
    args = parser.parse_args(argv)
    sets = training_sets(args.sets)
    x, y, corpora = collect(sets, args.cache)
    if args.limit is not None and args.limit < len(y):
        keep = np.sort(np.random.default_rng(23).choice(len(y), size=args.limit, replace=False))
        x, y, corpora = x[keep], y[keep], [corpora[i] for i in keep]
    w, b, threshold, held = fit_with_threshold(x, y, corpora)
    by_corpus = declined_by_corpus(held, y, corpora, threshold)
    trained_on = {c: [f"{d.name}:{s or 'all'}" for d, s in v] for c, v in sets.items()}
    hx, hy, hc = collect(HELD_OUT, args.cache)
    held_out = declined_by_corpus(probabilities(hx, w, b), hy, hc, threshold)
    for corpus, counts in held_out.items():
        print(f"held out {corpus:22s} {counts}")
    payload = {
        "threshold": threshold,
        "model": {"signals": list(SIGNALS), "weights": [round(float(v), 6) for v in w], "bias": round(b, 6)},
        "trained_on": trained_on,
        "out_of_fold": by_corpus,
        "held_out": held_out,
        "command": " ".join(["python -m evals.fit_abstention", *(argv if argv is not None else sys.argv[1:])]),
        "calibrated": time.strftime("%Y-%m-%d"),
    }
    Path(args.out).write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    lines = [
        "# Abstention: a calibrated decision on generic signals",
        "",
        f"`{payload['command']}` on {time.strftime('%Y-%m-%d')}: a logistic model over the signals of",
        "`rag/answering/abstaining.py`, fitted on "
        + ", ".join(f"{c}: {', '.join(v)}" for c, v in trained_on.items())
        + ". The threshold is chosen on out-of-fold probabilities (corpus by corpus): the most unanswerable",
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
        "Held out (never fitted on; the validation corpus and the blind sets the gate uses):",
        "",
        "| corpus | answerable | unanswerable | unanswerable declined | answerable declined |",
        "|---|---|---|---|---|",
        *(
            f"| {c} | {v['answerable']} | {v['unanswerable']} | {v['unanswerable_declined']:.3f} | {v['answerable_declined']:.3f} |"
            for c, v in held_out.items()
        ),
        "",
        "Weights (per unit of each signal):",
        "",
        "| signal | weight |",
        "|---|---|",
        *(f"| {name} | {weight:+.4f} |" for name, weight in zip(SIGNALS, w, strict=True)),
        f"| (bias) | {b:+.4f} |",
        "",
        "Precision/recall of declining, out of fold, every corpus fitted on:",
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
