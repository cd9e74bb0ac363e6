"""What one request and one client may take: body size, request rate, and a bounded, timed share of the
model. Each limit is a small ASGI middleware that answers in the contract's error shape on its own, so a
request turned away never reaches a route (and a body too large is never read whole)."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_response

log = logging.getLogger(__name__)

# The routes that run the model (embedding, retrieval, answering). Health, metrics, feedback and the chat
# page are cheap and must stay responsive while answers queue.
MODEL_PATHS = frozenset({"/v1/query", "/v1/query/stream", "/v1/retrieve", "/v1/chat/completions"})
RATE_LIMITED_PREFIX = "/v1/"


async def send_error(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
) -> None:
    await error_response(status, code, message, headers)(scope, receive, send)


# -- body size --------------------------------------------------------------------------------------------
class BodyTooLarge(StarletteHTTPException):
    """Raised from `receive` once the streamed body passes the limit; an HTTPException, so FastAPI's body
    parsing re-raises it and the one error handler turns it into a 413 in the contract's shape."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


class BodySizeLimit:
    """Refuses bodies over `max_bytes`: at once from `Content-Length`, else while they stream in."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await send_error(scope, receive, send, 400, "invalid_body", "Content-Length is not a whole number")
                return
            if int(declared) > self.max_bytes:
                # Answered before a byte of the body is read; the server drops the rest with the connection.
                await send_error(scope, receive, send, 413, "payload_too_large", BodyTooLarge(self.max_bytes).detail)
                return

        received = 0
        started = False

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def send_tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive_within_limit, send_tracking)
        except BodyTooLarge as exc:
            # Only reached when the body was read outside FastAPI's error handling (e.g. by another middleware).
            if started:
                raise
            await send_error(scope, receive, send, 413, "payload_too_large", str(exc.detail))


# -- request rate -----------------------------------------------------------------------------------------
class TokenBuckets:
    """One token bucket per client: `burst` requests at once, refilled at `per_minute`. The least recently
    seen clients are forgotten beyond `max_clients`, so memory stays bounded whoever calls."""

    def __init__(
        self,
        per_minute: float,
        burst: int,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_clients = max_clients
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # client -> (tokens, at)

    def take(self, client: str) -> float:
        """0 when the request may go ahead, else the seconds until it may."""
        now = self.clock()
        tokens, at = self._buckets.pop(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate
        self._buckets[client] = (tokens, now)
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return wait


class RateLimit:
    """ASGI middleware: `/v1/*` requests beyond a client's bucket get 429 with `Retry-After`."""

    def __init__(self, app: ASGIApp, buckets: TokenBuckets, identify: Callable[[Scope], str]) -> None:
        self.app = app
        self.buckets = buckets
        self.identify = identify

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(RATE_LIMITED_PREFIX):
            await self.app(scope, receive, send)
            return
        wait = self.buckets.take(self.identify(scope))
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        seconds = max(1, math.ceil(wait))
        await send_error(
            scope,
            receive,
            send,
            429,
            "rate_limited",
            f"too many requests from this client; retry in {seconds} s",
            {"Retry-After": str(seconds)},
        )


# -- the model's share: bounded concurrency and a time limit ----------------------------------------------
class AnswerSlots:
    """At most `limit` answers run at once and `queue` more may wait; beyond that, callers are turned away.

    Made per event loop (an asyncio semaphore belongs to one), which matters only when tests reuse an app."""

    def __init__(self, limit: int, queue: int) -> None:
        self.limit = limit
        self.queue = queue
        self.running = 0
        self.waiting = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._semaphore: asyncio.Semaphore | None = None

    def _current(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._loop is not loop:
            self._loop, self._semaphore = loop, asyncio.Semaphore(self.limit)
            self.running = self.waiting = 0
        return self._semaphore

    def join(self) -> bool:
        """Take a place (a slot or the queue) at once, or False when both are full. Synchronous, so that
        requests arriving together cannot all see the same last free place."""
        self._current()
        if self.running + self.waiting >= self.limit + self.queue:
            return False
        self.waiting += 1
        return True

    async def acquire(self) -> None:
        """Wait for a slot, holding the place taken by `join`."""
        try:
            await self._current().acquire()
        finally:
            self.waiting -= 1
        self.running += 1

    def release(self) -> None:
        self.running -= 1
        self._current().release()


class AnswerGuard:
    """ASGI middleware in front of the model routes: a slot from `AnswerSlots`, and an answer within
    `timeout` seconds (503 with `Retry-After` when no slot is free, 504 when time runs out).

    A timed-out answer is abandoned, not killed (a thread cannot be): it keeps its slot until it ends, so
    slow answers cannot pile up threads behind the caller's back. The time limit covers the wait for the
    first byte; a stream that has started is left to finish."""

    def __init__(self, app: ASGIApp, slots: AnswerSlots, timeout: float, retry_after: int = 2) -> None:
        self.app = app
        self.slots = slots
        self.timeout = timeout
        self.retry_after = retry_after
        self._abandoned: set[asyncio.Task[None]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in MODEL_PATHS:
            await self.app(scope, receive, send)
            return
        if not self.slots.join():
            await send_error(
                scope,
                receive,
                send,
                503,
                "overloaded",
                "the server is answering as many questions as it can; retry shortly",
                {"Retry-After": str(self.retry_after)},
            )
            return

        started = abandoned = running = False

        async def send_unless_abandoned(message: Message) -> None:
            nonlocal started
            if abandoned:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        async def answer() -> None:
            nonlocal running
            await self.slots.acquire()
            running = True
            try:
                await self.app(scope, receive, send_unless_abandoned)
            finally:
                self.slots.release()

        task = asyncio.ensure_future(answer())
        try:
            await asyncio.wait_for(asyncio.shield(task), self.timeout)
            return
        except TimeoutError:
            if started:  # a response is on its way (a stream): let it finish
                await task
                return
        except asyncio.CancelledError:
            task.cancel()
            raise
        abandoned = True
        if running:
            self._abandoned.add(task)
            task.add_done_callback(self._forget)
        else:
            task.cancel()  # still queued: give its place back
        await send_error(
            scope, receive, send, 504, "timeout", f"no answer within {self.timeout:g} seconds; try again later"
        )

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._abandoned.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("an abandoned answer failed: %r", task.exception())
