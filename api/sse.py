"""Server-Sent Events on the wire: the framing, and a stream that stops as soon as its client has gone."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterable

from fastapi import Request

log = logging.getLogger(__name__)

# No caching, and no buffering by a reverse proxy (nginx honours X-Accel-Buffering), so each event
# reaches the client when it is sent.
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
SSE_MEDIA_TYPE = "text/event-stream"


def sse_event(data: object, event: str | None = None) -> bytes:
    """One event: an optional `event:` name and `data:` as one line of JSON (JSON never needs a newline)."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


async def until_disconnected(request: Request, events: Iterable[bytes], name: str) -> AsyncIterator[bytes]:
    """Send `events` while the client is connected, and nothing more once it has gone.

    The events are ready before the stream starts, so the loop never waits and Starlette's own
    disconnect watcher would get no chance to run: the check before each event is what stops it.
    """
    sent = 0
    finished = False
    try:
        for event in events:
            if await request.is_disconnected():
                return
            yield event
            sent += 1
        finished = True
    finally:
        if not finished:
            log.info("%s: client disconnected after %d events; stream stopped", name, sent)
