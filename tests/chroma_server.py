"""A real Chroma server (`chroma run`, from the chromadb package in the venv) on a free loopback port,
for tests of server mode and of what happens when the server goes away and comes back.

    server = ChromaServer(tmp_path / "chroma")
    server.start()            # returns once the heartbeat answers
    settings = make_settings(tmp_path, **server.settings_env())
    server.stop()             # the data stays in the folder
    server.start()            # same folder, same port: the same store comes back

The `chroma_server` fixture gives one that is started and always stopped at the end of the test.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.clean_env import clean_env, neutral_cwd

CHROMA = Path(sys.executable).with_name("chroma")
HEARTBEAT = "/api/v2/heartbeat"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ChromaServer:
    """One `chroma run` process over `path`; stop and start it again as often as a test needs."""

    def __init__(self, path: Path, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.path = path
        self.host = host
        self.port = port or free_port()
        self.log_path = path.parent / f"{path.name}-chroma.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def settings_env(self) -> dict[str, object]:
        """The settings that point the service at this server (for `make_settings` or an environment)."""
        return {"RAG_CHROMA_HOST": self.host, "RAG_CHROMA_PORT": self.port}

    def is_up(self) -> bool:
        try:
            return httpx.get(self.url + HEARTBEAT, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def start(self, timeout: float = 90.0) -> None:
        """Start the server and wait for its heartbeat; fail with the server's own output if it never comes."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError(f"chroma server on port {self.port} is already running")
        self.path.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(CHROMA), "run", "--path", str(self.path), "--host", self.host, "--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=clean_env(),  # Chroma reads CHROMA_* settings and a `.env`: none of the developer's
                cwd=neutral_cwd(),
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chroma run exited with {self.process.returncode}:\n{self.output()}")
            if self.is_up():
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"chroma run gave no heartbeat on port {self.port} within {timeout:.0f} s:\n{self.output()}")

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and wait until its port is free again."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.is_up():
            time.sleep(0.1)

    def output(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-4000:]
        except OSError:
            return ""


@pytest.fixture()
def chroma_server(tmp_path: Path) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path / "chroma")
    server.start()
    try:
        yield server
    finally:
        server.stop()
