"""`rag serve` in a process of its own, as a deployment runs it, for the benchmarks that go over HTTP:
when it became ready, which processes are its workers, and how much memory each holds."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import httpx

RAG = Path(sys.executable).with_name("rag")
STARTED = "Application startup complete."


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def memory_of(pid: int) -> dict[str, float]:
    """Resident (RSS) and proportional (PSS: shared pages divided among the processes sharing them) MiB.
    PSS is the fair share of one worker: the model's weights and libraries are partly shared."""
    figures: dict[str, float] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                figures["rss_mib"] = int(line.split()[1]) / 1024
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                figures["pss_mib"] = int(line.split()[1]) / 1024
    return figures


class RagServe:
    """`rag serve --workers N` on a free loopback port; its JSON log goes to a temporary file.

    `seconds_to_ready` is from process start to the first `/readyz` 200 after every worker has logged
    that its start-up (model and index loaded) is complete.
    """

    def __init__(self, workers: int = 1, env: dict[str, str] | None = None, timeout: float = 300.0) -> None:
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.timeout = timeout
        self.log_path = Path(tempfile.mkstemp(prefix="rag-serve-", suffix=".log")[1])
        # A query log of its own, empty: the developer's is left alone, and its size is not what is measured.
        self.state_dir = Path(tempfile.mkdtemp(prefix="rag-serve-state-"))
        self.env = {
            **os.environ,
            "RAG_LOG_FORMAT": "json",
            "RAG_LOG_LEVEL": "INFO",
            # The benchmark client asks far faster than one user may: the per-client limit would refuse it.
            "RAG_RATE_LIMIT_PER_MINUTE": "0",
            "RAG_STATE_PATH": str(self.state_dir / "rag.sqlite3"),
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.seconds_to_ready = 0.0
        self.seconds_to_first_ready = 0.0

    def __enter__(self) -> RagServe:
        self.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        command = [str(RAG), "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)]
        with self.log_path.open("wb") as log:
            started = time.perf_counter()
            self.process = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = started + self.timeout
        first_ready = None
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"rag serve exited with {self.process.returncode}:\n{self.log_tail()}")
            ready = self._ready()
            if ready and first_ready is None:
                first_ready = time.perf_counter() - started
            if ready and len(self.worker_pids()) >= self.workers:
                self.seconds_to_ready = time.perf_counter() - started
                self.seconds_to_first_ready = first_ready or self.seconds_to_ready
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"rag serve was not ready within {self.timeout:.0f} s:\n{self.log_tail()}")

    def _ready(self) -> bool:
        try:
            return httpx.get(self.url + "/readyz", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(30)
        self.log_path.unlink(missing_ok=True)
        shutil.rmtree(self.state_dir, ignore_errors=True)

    def log_entries(self) -> list[dict[str, object]]:
        entries = []
        for line in self.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    entries.append(json.loads(line))
        return entries

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: those that logged a completed start-up."""
        return sorted({int(str(e["pid"])) for e in self.log_entries() if e.get("message") == STARTED and "pid" in e})

    def memory(self) -> dict[str, dict[str, float]]:
        """Memory of each worker, and of the supervising process when it is not itself a worker."""
        assert self.process is not None
        figures = {f"worker {pid}": memory_of(pid) for pid in self.worker_pids()}
        if self.process.pid not in self.worker_pids():
            figures["supervisor"] = memory_of(self.process.pid)
        return figures
