"""`rag serve` as a real subprocess (several workers behind one port), with its JSON log collected, for
tests of what only separate processes show: shared state, shared metrics, index switches.

    with RagServe(env, workers=2) as served:
        httpx.post(served.url + "/v1/query", ...)
        served.pid_of(request_id)      # which worker answered (from its access-log line)
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from tests.chroma_server import free_port
from tests.clean_env import clean_env, neutral_cwd

RAG = Path(sys.executable).with_name("rag")


class RagServe:
    def __init__(self, env: dict[str, str], workers: int = 2, cwd: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        # Nothing from the developer's environment decides what the server does, apart from PATH and HOME,
        # nor a `.env` in the folder the tests were started from.
        self.cwd = cwd or neutral_cwd()
        self.env = clean_env(RAG_LOG_FORMAT="json", RAG_RATE_LIMIT_PER_MINUTE="0", **env)
        self.lines: list[str] = []
        self.entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> RagServe:
        self.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def start(self, timeout: float = 240.0) -> None:
        """Start the server and return once `/readyz` says the index answers."""
        self.process = subprocess.Popen(
            [str(RAG), "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)],
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its workers form one process group, stopped together at the end
        )
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"rag serve exited with {self.process.returncode}:\n{self.output()}")
            # Every worker has loaded the model and the index (its lifespan ran), and the index answers.
            if len(self.started_workers()) >= self.workers:
                try:
                    if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"rag serve was not ready within {timeout:.0f} s:\n{self.output()}")

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            with self._lock:
                self.lines.append(line)
                if line.startswith("{"):
                    with contextlib.suppress(ValueError):
                        self.entries.append(json.loads(line))

    def stop(self, timeout: float = 30.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout)

    def output(self) -> str:
        with self._lock:
            return "".join(self.lines[-60:])

    def started_workers(self) -> set[int]:
        with self._lock:
            return {int(e["pid"]) for e in self.entries if e.get("message") == "Application startup complete."}

    def access_entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self.entries if e.get("logger") == "api.access"]

    def pid_of(self, request_id: str, timeout: float = 10.0) -> int:
        """The worker that answered `request_id` (its access line is written just after the response)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for entry in self.access_entries():
                if entry.get("request_id") == request_id:
                    return int(entry["pid"])
            time.sleep(0.05)
        raise AssertionError(f"no access-log line for request {request_id}:\n{self.output()}")


def fresh_post(url: str, body: dict[str, Any], request_id: str | None = None, timeout: float = 60.0) -> httpx.Response:
    """A POST on a new connection, so that successive requests can land on different workers."""
    headers = {"X-Request-ID": request_id} if request_id else {}
    return httpx.post(url, json=body, headers={**headers, "Connection": "close"}, timeout=timeout)
