"""The step both fine-tuning commands share (evals.train_reader, evals.train_embedder): backward,
clip, optimiser and schedule step, and a progress line now and then."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np


def optimise(loss: Any, trainable: Sequence[Any], optimizer: Any, schedule: Any, running: list[float]) -> None:
    """One step on `loss`; its value joins `running`."""
    import torch

    loss.backward()
    torch.nn.utils.clip_grad_norm_(trainable, 1.0)
    optimizer.step()
    schedule.step()
    optimizer.zero_grad()
    running.append(float(loss.detach()))


def report(step: int, steps: int, running: list[float], started: float, every: int) -> None:
    """The mean loss of the last `every` steps and the time since `started`, every `every` steps."""
    if step % every == 0:
        print(
            f"step {step}/{steps} loss {np.mean(running[-every:]):.4f} {time.perf_counter() - started:.0f} s",
            flush=True,
        )
