"""Keeping an unreliable generator from hurting the service: retries with backoff for the failures
that pass (429, 5xx, dropped connections), and a circuit breaker that stops calling a provider that
keeps failing, so questions get the extractive answer at once instead of waiting on timeouts."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class ProviderError(Exception):
    """A generator call that failed; `retryable` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        # Seconds the provider asked us to wait (Retry-After), when it said.
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    """Up to `max_retries` more attempts after the first, waiting `backoff * 2**attempt` (with jitter)
    or what the provider's Retry-After asks for. A wait longer than `max_backoff` is not worth making
    a person wait for: we give up and the caller serves the extractive answer."""

    max_retries: int = 2
    backoff: float = 0.5
    max_backoff: float = 8.0
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = random.random

    def delay(self, attempt: int, error: ProviderError) -> float | None:
        """Seconds to wait before retry number `attempt` (0-based), or None when not worth retrying."""
        if not error.retryable or attempt >= self.max_retries:
            return None
        if error.retry_after is not None:
            wanted = error.retry_after
        else:
            # Full jitter in the upper half keeps concurrent workers from retrying in lockstep.
            wanted = self.backoff * 2**attempt * (0.5 + 0.5 * self.jitter())
        return wanted if wanted <= self.max_backoff else None

    def call(self, attempt_once: Callable[[], T]) -> T:
        attempt = 0
        while True:
            try:
                return attempt_once()
            except ProviderError as error:
                wait = self.delay(attempt, error)
                if wait is None:
                    raise
                log.info("generator call failed (%s); retry %d in %.2fs", error, attempt + 1, wait)
                self.sleep(wait)
                attempt += 1


BreakerState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """After `failure_threshold` consecutive failed questions the circuit opens: the provider is not
    called for `cooldown` seconds. Then one trial call is let through (half-open); its success closes
    the circuit, its failure opens it for another cool-down. Shared by all threads of a process."""

    def __init__(self, failure_threshold: int, cooldown: float, clock: Callable[[], float] = time.monotonic) -> None:
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be at least 1, got {failure_threshold}")
        if cooldown < 0:
            raise ValueError(f"cooldown must not be negative, got {cooldown}")
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self.clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state()

    def _state(self) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        if self._trial_in_flight or self.clock() - self._opened_at >= self.cooldown:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        """Whether to call the provider now. In half-open state only one caller gets True."""
        with self._lock:
            state = self._state()
            if state == "closed":
                return True
            if state == "half_open" and not self._trial_in_flight:
                self._trial_in_flight = True
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            if self._opened_at is not None:
                log.info("generator is answering again; circuit closed")
            self._failures = 0
            self._opened_at = None
            self._trial_in_flight = False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._trial_in_flight or self._failures >= self.failure_threshold:
                if self._opened_at is None or self._trial_in_flight:
                    log.warning(
                        "generator failed %d times in a row; serving extractive answers for %.0fs",
                        self._failures,
                        self.cooldown,
                    )
                self._opened_at = self.clock()
            self._trial_in_flight = False
