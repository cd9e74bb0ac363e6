"""What a benchmark ran on: CPU model, cores, memory, Python, and how busy the machine was when it
started. The machines here are shared, so every report carries this next to its figures."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Machine:
    cpu: str
    cores: int
    memory_gib: float
    python: str
    system: str
    load_at_start: tuple[float, float, float]
    started: str
    commit: str

    def describe(self) -> str:
        load = ", ".join(f"{x:.2f}" for x in self.load_at_start)
        return (
            f"{self.cpu}, {self.cores} cores, {self.memory_gib:.1f} GiB RAM, Python {self.python}, {self.system}; "
            f"load average {load} (1, 5, 15 min) at the start, {self.started}, commit {self.commit}"
        )

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return 0.0


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def describe_machine() -> Machine:
    """Read once, at the start of a benchmark (the load average is the one before it added its own)."""
    load = os.getloadavg()
    return Machine(
        cpu=cpu_model(),
        cores=len(os.sched_getaffinity(0)),
        memory_gib=round(memory_gib(), 1),
        python=platform.python_version(),
        system=f"{platform.system()} {platform.release()}",
        load_at_start=(round(load[0], 2), round(load[1], 2), round(load[2], 2)),
        started=time.strftime("%Y-%m-%d %H:%M"),
        commit=git_commit(),
    )


NOISE_NOTE = (
    "The machine is shared with other work and noisy: read the medians and the ratios measured in the same run "
    "(modes interleaved question by question), not single samples or the tails."
)
