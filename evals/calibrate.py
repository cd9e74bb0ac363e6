"""Choose the abstention threshold from labelled questions: the confidence below which the
answerer abstains, at the point that best separates answerable from unanswerable questions."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CurvePoint:
    threshold: float
    abstain_recall: float  # unanswerable questions that abstain
    false_abstention: float  # answerable questions that abstain


@dataclass(frozen=True)
class Calibration:
    threshold: float
    curve: list[CurvePoint]
    answerable: int
    unanswerable: int


# Declining a question the guide answers costs the user more than quoting the closest passage for
# one it does not (the quote and its section are shown either way): keep false abstentions this rare.
MAX_FALSE_ABSTENTION = 0.03


def calibrate(scores: Sequence[tuple[float, bool]], max_false: float = MAX_FALSE_ABSTENTION) -> Calibration:
    """`scores` are (confidence, answerable) pairs. Among thresholds at which at most `max_false` of the
    answerable questions abstain, the one that makes the most unanswerable ones abstain (Youden's J
    when no threshold is that careful); ties go to the middle of the tied range."""
    positives = sorted(s for s, ok in scores if ok)
    negatives = sorted(s for s, ok in scores if not ok)
    if not positives or not negatives:
        raise ValueError("calibration needs both answerable and unanswerable questions")
    values = sorted({s for s, _ in scores})
    candidates = [values[0] - 1e-6] + [(a + b) / 2 for a, b in itertools.pairwise(values)] + [values[-1] + 1e-6]
    curve = []
    for t in candidates:
        recall = sum(s < t for s in negatives) / len(negatives)
        false = sum(s < t for s in positives) / len(positives)
        curve.append(CurvePoint(round(t, 6), recall, false))
    careful = [p for p in curve if p.false_abstention <= max_false]
    if careful:
        best = max(careful, key=lambda p: (p.abstain_recall, -p.false_abstention))
    else:
        best = max(curve, key=lambda p: (round(p.abstain_recall - p.false_abstention, 9), -p.false_abstention))
    # Among equally good thresholds, take the middle of their range: the widest margin on both sides.
    ties = [p for p in curve if (p.abstain_recall, p.false_abstention) == (best.abstain_recall, best.false_abstention)]
    middle = (ties[0].threshold + ties[-1].threshold) / 2
    return Calibration(round(middle, 6), curve, len(positives), len(negatives))


def save_threshold(path: Path, calibration: Calibration, dataset: str, split: str) -> None:
    """Write the threshold; a fitted abstention model already in the file (rag/answering/abstaining.py) is kept."""
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        kept = {}
    payload = {k: v for k, v in kept.items() if k == "model"} if isinstance(kept, dict) else {}
    payload |= {
        "threshold": calibration.threshold,
        "dataset": dataset,
        "split": split or "all",
        "answerable": calibration.answerable,
        "unanswerable": calibration.unanswerable,
        "calibrated": time.strftime("%Y-%m-%d"),
    }
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
