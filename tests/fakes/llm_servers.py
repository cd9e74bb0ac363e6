"""Loopback stand-ins for the chat model providers we cannot reach from tests: small HTTP servers
that speak OpenAI's Chat Completions and Anthropic's Messages wire formats and play a script of
replies (text, an HTTP error, a hang), so the real `openai` and `anthropic` clients are exercised."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Wire = Literal["openai", "anthropic"]


@dataclass(frozen=True)
class Reply:
    """A 200 with this text; a callable gets the request body and returns the text."""

    text: str | Callable[[dict[str, Any]], str]


@dataclass(frozen=True)
class Failure:
    """An error status in the provider's error format, with optional headers (Retry-After)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    message: str = "scripted failure"


@dataclass(frozen=True)
class Hang:
    """Answer only after `seconds` (or when the server stops): for client timeouts."""

    seconds: float
    then: Reply = Reply("too late [1].")


Step = Reply | Failure | Hang


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    429: "rate_limit_error",
    529: "overloaded_error",
}


class ScriptedLLMServer:
    """One provider on 127.0.0.1 at a free port. Each request takes the next scripted step; with
    none left it answers 500, so an unexpected extra call shows up in the test."""

    def __init__(self, wire: Wire) -> None:
        self.wire = wire
        self.requests: list[RecordedRequest] = []
        self._steps: list[Step] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        """The base URL to give the client (`RAG_LLM_BASE_URL`)."""
        root = f"http://127.0.0.1:{self._server.server_address[1]}"
        return f"{root}/v1" if self.wire == "openai" else root

    def script(self, *steps: Step) -> None:
        with self._lock:
            self._steps.extend(steps)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._steps)

    def start(self) -> ScriptedLLMServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def _next_step(self) -> Step:
        with self._lock:
            return self._steps.pop(0) if self._steps else Failure(500, message="no scripted reply left")

    # -- wire formats ------------------------------------------------------------------------
    def _expected_path(self) -> str:
        return "/v1/chat/completions" if self.wire == "openai" else "/v1/messages"

    def _authorized(self, headers: dict[str, str]) -> bool:
        if self.wire == "openai":
            return headers.get("authorization", "").startswith("Bearer ")
        # Anthropic takes `x-api-key` or (as recent clients send it) a bearer token, always with a version.
        has_key = bool(headers.get("x-api-key")) or headers.get("authorization", "").startswith("Bearer ")
        return has_key and bool(headers.get("anthropic-version"))

    def _success(self, body: dict[str, Any], text: str) -> dict[str, Any]:
        if self.wire == "openai":
            return {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "fake"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                        "logprobs": None,
                    }
                ],
                "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
            }
        return {
            "id": f"msg_{len(self.requests)}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "fake"),
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 100, "output_tokens": 20},
        }

    def _error(self, status: int, message: str) -> dict[str, Any]:
        kind = ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        if self.wire == "openai":
            return {"error": {"message": message, "type": kind, "param": None, "code": None}}
        return {"type": "error", "error": {"type": kind, "message": message}}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    self._send(400, fake._error(400, "body is not JSON"))
                    return
                if self.path != fake._expected_path():
                    self._send(404, fake._error(404, f"no route {self.path}"))
                    return
                if not fake._authorized(headers):
                    self._send(401, fake._error(401, "missing credentials"))
                    return
                fake.requests.append(RecordedRequest(self.path, headers, body))
                step = fake._next_step()
                if isinstance(step, Hang):
                    fake._stopping.wait(step.seconds)
                    step = step.then
                if isinstance(step, Failure):
                    self._send(step.status, fake._error(step.status, step.message), step.headers)
                    return
                text = step.text(body) if callable(step.text) else step.text
                self._send(200, fake._success(body, text))

            def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout): nothing to tell it

        return Handler


@contextmanager
def scripted_server(wire: Wire) -> Iterator[ScriptedLLMServer]:
    server = ScriptedLLMServer(wire).start()
    try:
        yield server
    finally:
        server.stop()


# -- reading what the client sent ------------------------------------------------------------
def system_prompt(request: RecordedRequest) -> str:
    body = request.body
    if "system" in body:  # Anthropic: a top-level field (a string or text blocks)
        system = body["system"]
        return system if isinstance(system, str) else "".join(block["text"] for block in system)
    return "".join(m["content"] for m in body["messages"] if m["role"] == "system")


def user_message(body: dict[str, Any]) -> str:
    contents = [m["content"] for m in body["messages"] if m["role"] == "user"]
    content = contents[-1]
    return content if isinstance(content, str) else "".join(block["text"] for block in content)


PASSAGE = re.compile(r'<passage n="(\d+)"[^>]*>\n(.*?)\n</passage>', re.DOTALL)


def passages(body: dict[str, Any]) -> dict[int, str]:
    """The numbered passages of the prompt, as the model would read them."""
    return {int(n): text for n, text in PASSAGE.findall(user_message(body))}
