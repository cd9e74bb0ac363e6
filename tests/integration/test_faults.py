"""Faults, injected for real: `kill -9` of `rag ingest` while it embeds, writes and switches; a missing and a
damaged index folder; a full disk (a small tmpfs); two ingests at once. Through each, the served index keeps
answering with what it had, `/readyz` says why when it cannot, and the next ingest completes correctly.
(The Chroma server stopping and coming back is tested in `tests/integration/test_server_mode.py`.)"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from llama_index.core.base.embeddings.base import BaseEmbedding

from api.app import create_app
from rag.errors import RagError
from rag.index.ingest import ingest
from rag.index.store import CHUNK_PREFIX, ChunkStore, connect, where
from rag.service import QAService
from rag.settings import Settings
from tests.clean_env import clean_env, neutral_cwd
from tests.conftest import CORPUS, make_settings

# The thread method: a hang inside Chroma's native code never returns to Python for a signal to land.
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300, method="thread")]

RAG = Path(sys.executable).with_name("rag")
GUIDE = "ai-engineer-job-description-2026.txt"
QUESTION = {"question": "What do AI engineers earn in Seattle?"}
OLD_RANGE, NEW_RANGE = "Seattle $160,000 - $220,000", "Seattle $161,000 - $221,000"


# -- helpers -----------------------------------------------------------------------------------------------
def copy_index(built: Settings, target: Path) -> Path:
    """The session's index of the guide, copied: a served index to do damage to, without embedding it again."""
    shutil.copytree(built.index_dir, target, ignore=shutil.ignore_patterns(".ingest.lock"))
    return target


def edited_corpus(tmp_path: Path) -> Path:
    """The corpus with Seattle's salary range changed: one chunk to re-embed, and an answer that tells which
    index version is serving."""
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    guide = corpus / GUIDE
    text = guide.read_text(encoding="utf-8")
    assert text.count(OLD_RANGE) == 1
    guide.write_text(text.replace(OLD_RANGE, NEW_RANGE), encoding="utf-8", newline="")
    return corpus


def cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    """Only these settings: nothing of the developer's environment or `.env` (the CLI runs in an empty folder)."""
    return clean_env(
        RAG_INDEX_DIR=str(settings.index_dir),
        RAG_CORPUS_DIR=str(settings.corpus_dir),
        RAG_STATE_PATH=str(settings.state_path),
        RAG_LOG_LEVEL="WARNING",
        **extra,
    )


def start_ingest_until(settings: Settings, stage: str, pause: bool, *args: str) -> subprocess.Popen[str]:
    """`rag ingest` in a process of its own, returned once it announces `stage` on stderr (and, with
    `pause`, holds still there: RAG_TEST_PAUSE_AT)."""
    extra = {"RAG_TEST_PAUSE_AT": stage} if pause else {}
    process = subprocess.Popen(
        [str(RAG), "ingest", *args],
        env=cli_env(settings, **extra),
        cwd=neutral_cwd(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if line.strip() == f"... {stage}":
            return process
    process.wait()
    raise AssertionError(f"rag ingest ended ({process.returncode}) before {stage!r}: {''.join(seen)}")


def kill_9(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RAG), *args],
        env=cli_env(settings),
        cwd=neutral_cwd(),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def fresh_answer(settings: Settings, embed_model: BaseEmbedding) -> str:
    """What a process starting now would answer: the active version as the store names it."""
    service = QAService(settings, embed_model=embed_model)
    service.load()
    return service.ask(QUESTION["question"]).answer


def chunk_collections(settings: Settings) -> set[str]:
    return {
        name
        for name in ChunkStore(connect(settings), where(settings)).collection_names()
        if name.startswith(CHUNK_PREFIX)
    }


def active_collection(settings: Settings) -> str:
    version = ChunkStore(connect(settings), where(settings)).active_version()
    assert version is not None
    return version.collection


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout:.0f} s: {what}")
        time.sleep(0.2)


def answers_with(client: TestClient, text: str) -> bool:
    response = client.post("/v1/query", json=QUESTION)
    return response.status_code == 200 and text in response.json()["answer"]


def assert_index_matches_corpus(settings: Settings, corpus: Path) -> None:
    """Integrity: every stored chunk is verbatim text of its source at its offsets."""
    store = ChunkStore(connect(settings), where(settings))
    chunks = store.stored_chunks(store.collection(active_collection(settings)))
    sources = {path.name: path.read_text(encoding="utf-8") for path in corpus.iterdir()}
    assert chunks
    for chunk in chunks.values():
        assert sources[chunk.source][chunk.start : chunk.end] == chunk.text


@pytest.fixture()
def damaged_setup(
    tmp_path: Path, built_settings: Settings, embed_model: BaseEmbedding
) -> Iterator[tuple[Settings, TestClient]]:
    """A served copy of the guide's index, and a corpus edited since it was built."""
    index = copy_index(built_settings, tmp_path / "index")
    settings = make_settings(tmp_path, edited_corpus(tmp_path), RAG_INDEX_DIR=index, RAG_RATE_LIMIT_PER_MINUTE=0)
    with TestClient(create_app(settings, QAService(settings, embed_model=embed_model))) as client:
        assert answers_with(client, OLD_RANGE)
        yield settings, client


# -- kill -9 -----------------------------------------------------------------------------------------------
# (stage, pause there?). Embedding one changed chunk and switching are too quick to hit without the pause
# hook (RAG_TEST_PAUSE_AT); "writing" is announced once the new collection exists, and killed both held
# there and the moment it is announced (in the middle of the write).
KILL_POINTS = [("embedding", True), ("writing", True), ("writing", False), ("switching", True)]


def left_behind(settings: Settings, active: str) -> dict[str, int]:
    """The chunk collections other than `active`, with how many chunks each holds."""
    store = ChunkStore(connect(settings), where(settings))
    return {name: store.collection(name).count() for name in chunk_collections(settings) - {active}}


@pytest.mark.parametrize(
    ("stage", "pause"), KILL_POINTS, ids=[f"{stage}{'' if pause else ', unannounced'}" for stage, pause in KILL_POINTS]
)
def test_kill_9_during_ingest_leaves_the_old_index_serving_and_the_next_ingest_completes(
    damaged_setup: tuple[Settings, TestClient], embed_model: BaseEmbedding, stage: str, pause: bool
) -> None:
    settings, client = damaged_setup
    old = active_collection(settings)
    total = ChunkStore(connect(settings), where(settings)).collection(old).count()

    kill_9(start_ingest_until(settings, stage, pause))

    # Where the kill landed: nothing written yet, a new collection cut short, or one written but not switched to.
    orphans = left_behind(settings, old)
    if stage == "embedding":
        assert orphans == {}
    elif stage == "writing":
        assert len(orphans) == 1 and next(iter(orphans.values())) < total
    else:
        assert list(orphans.values()) == [total]
    # The pointer still names the old version: a process starting now and the one serving agree.
    assert active_collection(settings) == old
    assert OLD_RANGE in fresh_answer(settings, embed_model)
    assert client.get("/readyz").status_code == 200
    assert answers_with(client, OLD_RANGE)

    report = ingest(settings, embed_model)
    assert report.switched and (report.added, report.removed) == (1, 1)
    assert active_collection(settings) == report.collection
    # What the killed ingest left behind is dropped; the previous version stays for readers still on it.
    assert chunk_collections(settings) == {report.collection, old}
    assert NEW_RANGE in fresh_answer(settings, embed_model)
    wait_until(lambda: answers_with(client, NEW_RANGE), "the served app moves to the new version")
    assert_index_matches_corpus(settings, settings.corpus_dir)


# -- two ingests at once -----------------------------------------------------------------------------------
def test_a_second_ingest_refuses_clearly_while_one_runs(
    damaged_setup: tuple[Settings, TestClient], embed_model: BaseEmbedding
) -> None:
    settings, client = damaged_setup
    first = start_ingest_until(settings, "embedding", pause=True)
    try:
        second = run_cli(settings, "ingest")
        assert second.returncode == 1
        message = second.stderr.strip().splitlines()[-1]
        assert message.startswith("rag ingest: error: another `rag ingest` is running on")
        with pytest.raises(RagError, match="another `rag ingest` is running"):
            ingest(settings, embed_model)
        assert answers_with(client, OLD_RANGE)
    finally:
        kill_9(first)
    assert ingest(settings, embed_model).switched  # the lock died with its holder
    assert_index_matches_corpus(settings, settings.corpus_dir)


# -- a missing or damaged index folder ---------------------------------------------------------------------
SMALL_DOC = """Hiring Handbook

Interview Loop

Every candidate meets four interviewers: a recruiter, two engineers and a hiring manager.

Offers

Offers are sent within five working days of the last interview.
"""


@pytest.fixture()
def small_corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "small-corpus"
    corpus.mkdir()
    (corpus / "handbook.txt").write_text(SMALL_DOC, encoding="utf-8")
    return corpus


def ready(client: TestClient) -> tuple[int, str]:
    response = client.get("/readyz")
    return response.status_code, response.json()["reason"]


def test_a_missing_index_folder_is_not_ready_with_the_reason_until_an_ingest(
    tmp_path: Path, small_corpus: Path, embed_model: BaseEmbedding
) -> None:
    settings = make_settings(tmp_path, small_corpus, RAG_INDEX_DIR=tmp_path / "never-built")
    with TestClient(create_app(settings, QAService(settings, embed_model=embed_model))) as client:
        status, reason = ready(client)
        assert status == 503 and "no index has been built" in reason and "rag ingest" in reason
        refused = client.post("/v1/query", json={"question": "How many interviewers does a candidate meet?"})
        assert refused.status_code == 503 and refused.json()["error"]["code"] == "index_missing"
        ingest(settings, embed_model)
        wait_until(lambda: ready(client)[0] == 200, "ready after the first ingest")
        answer = client.post("/v1/query", json={"question": "How many interviewers does a candidate meet?"}).json()
        assert "four interviewers" in answer["answer"]


def test_a_damaged_index_folder_is_not_ready_with_the_reason_and_rebuild_recovers_without_a_restart(
    tmp_path: Path, small_corpus: Path, embed_model: BaseEmbedding
) -> None:
    settings = make_settings(tmp_path, small_corpus)
    ingest(settings, embed_model)
    database = settings.index_dir / "chroma.sqlite3"
    database.write_bytes(b"\x00this is not a database\x00" * 4096)
    with TestClient(create_app(settings, QAService(settings, embed_model=embed_model))) as client:
        for _ in range(2):  # the reason stays the true one on every probe
            status, reason = ready(client)
            assert status == 503
            assert "cannot open the Chroma store" in reason and "not a database" in reason and "--rebuild" in reason
        plain = run_cli(settings, "ingest")
        assert plain.returncode == 1 and "rag ingest --rebuild" in plain.stderr.strip().splitlines()[-1]

        rebuilt = run_cli(settings, "ingest", "--rebuild")
        assert rebuilt.returncode == 0, rebuilt.stderr
        assert "added" in rebuilt.stdout and "moved to" in rebuilt.stderr
        (aside,) = settings.index_dir.glob("damaged-*")
        assert (aside / "chroma.sqlite3").read_bytes().startswith(b"\x00this is not a database")  # kept, not deleted
        wait_until(lambda: ready(client)[0] == 200, "ready after the rebuild, without a restart")
        answer = client.post("/v1/query", json={"question": "When are offers sent?"}).json()
        assert "five working days" in answer["answer"]
    assert_index_matches_corpus(settings, small_corpus)


# -- a full disk -------------------------------------------------------------------------------------------
@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB tmpfs (root only; skipped where mounting is not allowed)."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(folder: Path, leave: int) -> Path:
    """Take all but `leave` bytes of the file system `folder` is on: room to open the store, not to write."""
    stats = os.statvfs(folder)
    filler = folder / "filler"
    filler.write_bytes(b"\0" * max(0, stats.f_bavail * stats.f_frsize - leave))
    return filler


def test_a_full_disk_fails_the_ingest_clearly_and_leaves_the_old_index_serving(
    tmp_path: Path, small_disk: Path, built_settings: Settings, embed_model: BaseEmbedding
) -> None:
    index = copy_index(built_settings, small_disk / "index")
    settings = make_settings(tmp_path, edited_corpus(tmp_path), RAG_INDEX_DIR=index, RAG_RATE_LIMIT_PER_MINUTE=0)
    with TestClient(create_app(settings, QAService(settings, embed_model=embed_model))) as client:
        assert answers_with(client, OLD_RANGE)
        old = active_collection(settings)
        filler = fill(small_disk, leave=64 * 1024)

        # `rag ingest` runs as its own process, as it does in use: a process whose write failed is not reused.
        failed = run_cli(settings, "ingest")
        assert failed.returncode == 1
        message = failed.stderr.strip().splitlines()[-1]
        assert message.startswith("rag ingest: error:") and "disk is full" in message, message
        assert "--rebuild" not in message  # a full disk is not damage: nothing is set aside
        assert not list(index.glob("damaged-*"))

        assert active_collection(settings) == old
        assert OLD_RANGE in fresh_answer(settings, embed_model)
        assert answers_with(client, OLD_RANGE) and client.get("/readyz").status_code == 200

        filler.unlink()
        retried = run_cli(settings, "ingest")
        assert retried.returncode == 0, retried.stderr
        wait_until(lambda: answers_with(client, NEW_RANGE), "the served app moves to the new version")
        assert chunk_collections(settings) == {active_collection(settings), old}
    assert_index_matches_corpus(settings, settings.corpus_dir)
