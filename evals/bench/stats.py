"""Medians, p95 and ratios of timing samples, and the Markdown tables the reports are made of."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of a non-empty sample."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass(frozen=True)
class Timing:
    """Milliseconds of one measured mode."""

    p50: float
    p95: float
    n: int

    @classmethod
    def of(cls, samples_ms: Sequence[float]) -> Timing:
        if not samples_ms:
            raise ValueError("no samples")
        return cls(statistics.median(samples_ms), percentile(samples_ms, 0.95), len(samples_ms))

    def as_dict(self) -> dict[str, float | int]:
        return {"p50_ms": round(self.p50, 3), "p95_ms": round(self.p95, 3), "n": self.n}


def paired_ratio(samples: Sequence[float], baseline: Sequence[float]) -> float:
    """Median of per-question ratios: steadier than a ratio of medians when the load changes during a run."""
    return statistics.median(x / b for x, b in zip(samples, baseline) if b > 0)


def fmt(value: object, digits: int = 1) -> str:
    """A number with thousands separators and `digits` decimals; anything else as it is."""
    if value is None:
        return "–"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:,.{digits}f}"
    return str(value)


def table(header: Sequence[str], rows: Sequence[Sequence[object]], align: str | None = None) -> list[str]:
    """A Markdown table; `align` is one character per column, `l` or `r` (default: first left, rest right)."""
    align = align or "l" + "r" * (len(header) - 1)
    marks = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(marks) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def verdict(holds: object) -> str:
    return "holds" if holds else "does not hold"
