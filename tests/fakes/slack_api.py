"""A loopback stand-in for Slack's Web API (and for the `response_url` of slash commands and buttons,
and the WebSocket of Socket Mode): small servers that speak Slack's wire format, so the real
`slack_sdk` clients are exercised.

It records every call, checks the bot token and Block Kit's size limits the way Slack does, and can
answer one call of a method with `429 Retry-After`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

BOT_USER_ID = "UBOT0001"
BOT_ID = "BBOT0001"
TEAM_ID = "T0TEST01"
TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-1-test-app-token"


@dataclass(frozen=True)
class Call:
    """One request as the fake saw it: the Web API method (or `response_url:<name>`), its arguments."""

    method: str
    params: dict[str, Any]
    status: int  # HTTP status: 200, or 429 when rate limited
    ok: bool  # Slack's `ok`: false for an error such as invalid_blocks (still HTTP 200, as Slack does)
    reply: dict[str, Any]
    at: float  # time.monotonic() on arrival


def block_errors(blocks: list[dict[str, Any]]) -> list[str]:
    """What Slack would refuse in `blocks` (it answers `invalid_blocks`)."""
    errors = []
    if len(blocks) > 50:
        errors.append(f"{len(blocks)} blocks, more than 50")
    for i, block in enumerate(blocks):
        if block.get("type") == "section" and len(block.get("text", {}).get("text", "")) > 3000:
            errors.append(f"section {i}: text longer than 3000")
        if block.get("type") == "context":
            elements = block.get("elements", [])
            if len(elements) > 10:
                errors.append(f"context {i}: more than 10 elements")
            if any(len(e.get("text", "")) > 3000 for e in elements):
                errors.append(f"context {i}: element longer than 3000")
    return errors


class FakeSlackAPI:
    """Serves `http://127.0.0.1:<port>/api/<method>` and `/hooks/<name>` until `stop()`."""

    def __init__(self, token: str = TOKEN, app_token: str = APP_TOKEN) -> None:
        self.token = token
        self.app_token = app_token
        self.socket_messages: list[dict[str, Any]] = []  # what Socket Mode clients sent (acks)
        self._sockets: list[ServerConnection] = []
        self._socket_server: Server | None = None
        self.calls: list[Call] = []
        self._changed = threading.Condition()
        self._rate_limited: dict[str, int] = {}
        self._next_ts = 1_700_000_000
        self._reactions: set[tuple[str, str, str]] = set()
        self._threads: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # -- life ------------------------------------------------------------------------------------
    def start(self) -> FakeSlackAPI:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._socket_server is not None:
            self._socket_server.shutdown()
        self._server.shutdown()
        self._server.server_close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/api/"

    def hook_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/hooks/{name}"

    # -- scripting and inspection ----------------------------------------------------------------
    def rate_limit_once(self, method: str, retry_after: int = 1) -> None:
        """The next call of `method` gets 429 with `Retry-After: retry_after`."""
        self._rate_limited[method] = retry_after

    def calls_to(self, method: str) -> list[Call]:
        """Every call of `method` the fake received, whatever it answered: a post Slack would refuse
        (invalid_blocks, no_text, a 429) counts too, so `calls_to(...) == []` means nothing was attempted."""
        with self._changed:
            return [c for c in self.calls if c.method == method]

    def accepted(self, method: str) -> list[Call]:
        """The calls of `method`, each of which Slack accepted (AssertionError naming any it refused)."""
        calls = self.calls_to(method)
        refused = [(c.status, c.reply) for c in calls if not c.ok]
        assert not refused, f"{method}: Slack refused {len(refused)} of {len(calls)} calls: {refused}"
        return calls

    def wait_for(self, method: str, count: int = 1, timeout: float = 60) -> list[Call]:
        """The successful (`ok`) calls of `method` once there are `count` of them (AssertionError on timeout)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(found := [c for c in self.calls if c.method == method and c.ok]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{method}: {len(found)} calls after {timeout}s, wanted {count}: {self.calls}")
                self._changed.wait(left)
            return found

    # -- Socket Mode: apps.connections.open hands out this WebSocket ------------------------------------
    def _socket_url(self) -> str:
        if self._socket_server is None:
            self._socket_server = serve(self._socket_session, "127.0.0.1", 0)
            threading.Thread(target=self._socket_server.serve_forever, daemon=True).start()
        port = self._socket_server.socket.getsockname()[1]
        return f"ws://127.0.0.1:{port}/link/?ticket=fake-ticket&app_id=A0GUIDE01"

    def _socket_session(self, connection: ServerConnection) -> None:
        connection.send(json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0GUIDE01"}}))
        with self._changed:
            self._sockets.append(connection)
            self._changed.notify_all()
        with suppress(ConnectionClosed):  # slack_sdk's client may hang up without a close frame
            for raw in connection:
                with self._changed:
                    self.socket_messages.append(json.loads(raw))
                    self._changed.notify_all()

    def wait_for_socket(self, timeout: float = 30) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: self._sockets, timeout):
                raise AssertionError(f"no Socket Mode client connected within {timeout}s: {self.calls}")

    def push(self, envelope_type: str, payload: dict[str, Any], envelope_id: str, retry_attempt: int = 0) -> None:
        """Deliver an envelope to the connected client, as Slack does over Socket Mode."""
        envelope = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": envelope_type != "events_api",
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
        }
        self._sockets[-1].send(json.dumps(envelope))

    def wait_for_ack(self, envelope_id: str, timeout: float = 30) -> dict[str, Any]:
        def acked() -> dict[str, Any] | None:
            return next((m for m in self.socket_messages if m.get("envelope_id") == envelope_id), None)

        with self._changed:
            if not self._changed.wait_for(lambda: acked() is not None, timeout):
                raise AssertionError(f"envelope {envelope_id} not acknowledged within {timeout}s")
            return acked()  # type: ignore[return-value]

    # -- Slack's behaviour -----------------------------------------------------------------------
    def _record(self, method: str, params: dict[str, Any], status: int, reply: dict[str, Any]) -> None:
        with self._changed:
            self.calls.append(Call(method, params, status, bool(reply.get("ok")), reply, time.monotonic()))
            self._changed.notify_all()

    def _new_ts(self) -> str:
        with self._changed:
            self._next_ts += 1
            return f"{self._next_ts}.000100"

    def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://fake-team.slack.com/",
                "team": "Fake Team",
                "user": "guidebot",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
        if method == "chat.postMessage":
            return self._post_message(params)
        if method == "chat.update":
            if not params.get("channel") or not params.get("ts"):
                return {"ok": False, "error": "cant_update_message"}
            if problems := block_errors(params.get("blocks") or []):
                return {"ok": False, "error": "invalid_blocks", "errors": problems}
            return {"ok": True, "channel": params["channel"], "ts": params["ts"], "text": params.get("text", "")}
        if method in ("reactions.add", "reactions.remove"):
            return self._react(method, params)
        if method == "conversations.replies":
            thread = self._threads.get((params.get("channel", ""), params.get("ts", "")), [])
            return {"ok": True, "messages": thread, "has_more": False}
        return {"ok": False, "error": "unknown_method"}

    def _react(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """reactions.add / reactions.remove on a message: `channel`, `timestamp`, `name`, as Slack takes them."""
        if not params.get("channel") or not params.get("timestamp"):
            return {"ok": False, "error": "no_item_specified"}
        if not params.get("name"):
            return {"ok": False, "error": "invalid_name"}
        key = (params["channel"], params["timestamp"], params["name"])
        with self._changed:
            if method == "reactions.add":
                if key in self._reactions:
                    return {"ok": False, "error": "already_reacted"}
                self._reactions.add(key)
            else:
                if key not in self._reactions:
                    return {"ok": False, "error": "no_reaction"}
                self._reactions.discard(key)
        return {"ok": True}

    def reactions_on(self, channel: str, ts: str) -> set[str]:
        """The names of the reactions the bot has on a message now."""
        with self._changed:
            return {name for (c, t, name) in self._reactions if (c, t) == (channel, ts)}

    def _post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, blocks, text = params.get("channel"), params.get("blocks") or [], params.get("text") or ""
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not text and not blocks:
            return {"ok": False, "error": "no_text"}
        if len(text) > 40_000:
            return {"ok": False, "error": "msg_too_long"}
        if problems := block_errors(blocks):
            return {"ok": False, "error": "invalid_blocks", "errors": problems}
        ts = self._new_ts()
        message = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "text": text, "blocks": blocks, "ts": ts}
        if params.get("thread_ts"):
            message["thread_ts"] = params["thread_ts"]
            self._threads.setdefault((channel, params["thread_ts"]), []).append(message)
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    params: dict[str, Any] = json.loads(raw or "{}")
                else:
                    params = dict(parse_qsl(raw))
                    # slack_sdk sends structured arguments of form-encoded calls as JSON strings.
                    for key in ("blocks", "attachments"):
                        if isinstance(params.get(key), str):
                            params[key] = json.loads(params[key])
                if self.path.startswith("/hooks/"):
                    fake._record(f"response_url:{self.path.removeprefix('/hooks/')}", params, 200, {"ok": True})
                    self._send(200, b"ok", "text/plain")
                    return
                method = self.path.removeprefix("/api/")
                if (retry_after := fake._rate_limited.pop(method, None)) is not None:
                    limited = {"ok": False, "error": "ratelimited"}
                    fake._record(method, params, 429, limited)
                    body = json.dumps(limited).encode()
                    self._send(429, body, "application/json; charset=utf-8", {"Retry-After": str(retry_after)})
                    return
                # apps.connections.open takes the app-level token; every other method the bot token.
                expected = fake.app_token if method == "apps.connections.open" else fake.token
                if self.headers.get("Authorization") != f"Bearer {expected}":
                    reply: dict[str, Any] = {"ok": False, "error": "invalid_auth"}
                elif method == "apps.connections.open":
                    reply = {"ok": True, "url": fake._socket_url()}
                else:
                    reply = fake.answer(method, params)
                fake._record(method, params, 200, reply)
                self._send(200, json.dumps(reply).encode(), "application/json; charset=utf-8")

            def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        return Handler


@contextmanager
def fake_slack_api(token: str = TOKEN) -> Iterator[FakeSlackAPI]:
    fake = FakeSlackAPI(token).start()
    try:
        yield fake
    finally:
        fake.stop()
