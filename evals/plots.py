"""PNG plots for reports (matplotlib, no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.runner import QuestionResult


def _pyplot():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_hit_rate(path: Path, per_system: dict[str, dict[str, Any]]) -> None:
    """Hit rate against k, one line per system."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
    for system, summary in per_system.items():
        ks = sorted(int(key.split("@")[1]) for key in summary if key.startswith("hit@"))
        ax.plot(ks, [summary[f"hit@{k}"] for k in ks], marker="o", label=system)
    ax.set_xlabel("k")
    ax.set_ylabel("hit rate")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Hit rate at k")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_scores(path: Path, results: Sequence[QuestionResult], threshold: float) -> None:
    """Distribution of the answerer's confidence for answerable and unanswerable questions."""
    plt = _pyplot()
    answerable = [r.run.confidence for r in results if r.item.answerable and r.run.confidence is not None]
    unanswerable = [r.run.confidence for r in results if not r.item.answerable and r.run.confidence is not None]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
    bins = [i / 40 for i in range(-4, 41)]
    ax.hist(answerable, bins=bins, alpha=0.6, label=f"answerable ({len(answerable)})")
    ax.hist(unanswerable, bins=bins, alpha=0.6, label=f"unanswerable ({len(unanswerable)})")
    ax.axvline(threshold, color="black", linestyle="--", label=f"abstention threshold {threshold:.3f}")
    ax.set_xlabel("top-1 dense similarity (confidence)")
    ax.set_ylabel("questions")
    ax.legend(fontsize=8)
    ax.set_title("Confidence: answerable vs unanswerable")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
