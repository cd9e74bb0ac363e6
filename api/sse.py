"""Server-Sent Events on the wire: framing, the pieces an answer is streamed in, and a stream that stops
producing as soon as its client has gone away."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator

from fastapi import Request

log = logging.getLogger(__name__)

# No caching, and no buffering by a reverse proxy (nginx honours X-Accel-Buffering), so each event
# reaches the client when it is sent.
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
SSE_MEDIA_TYPE = "text/event-stream"

# A word with the whitespace after it; whitespace at the very start is a piece of its own.
PIECE = re.compile(r"\S+\s*|\s+")


def sse_event(data: object, event: str | None = None) -> bytes:
    """One event: an optional `event:` name and `data:` as one line of JSON (JSON never needs a newline)."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def text_pieces(text: str) -> list[str]:
    """The text cut after each word's trailing whitespace; joined, the pieces are exactly `text`."""
    return PIECE.findall(text)


async def until_disconnected(request: Request, events: AsyncIterator[bytes], name: str) -> AsyncIterator[bytes]:
    """Pass `events` on while the client is connected; when it leaves, stop and close `events`.

    Starlette cancels a streaming response when the client disconnects; checking before each event
    as well makes the stop prompt, and closing `events` ends whatever produces them.
    """
    sent = 0
    finished = False
    try:
        async for chunk in events:
            if await request.is_disconnected():
                return
            yield chunk
            sent += 1
        finished = True
    finally:
        if not finished:
            log.info("%s: client disconnected after %d events; stream stopped", name, sent)
        await events.aclose()  # type: ignore[attr-defined]
