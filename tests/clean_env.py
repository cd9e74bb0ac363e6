"""The environment of a subprocess a test starts: PATH, HOME and LANG of the developer's, then only the
settings the test names. A developer's `RAG_*`, `SLACK_*` or API keys must not decide what a test sees,
nor a `.env` in the working folder: run the subprocess in `neutral_cwd()` (or a `tmp_path`)."""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path

KEPT = ("PATH", "HOME", "LANG", "TMPDIR")


def clean_env(**settings: str | os.PathLike[str]) -> dict[str, str]:
    env = {key: os.environ[key] for key in KEPT if key in os.environ}
    env.update({key: str(value) for key, value in settings.items()})
    return env


@functools.cache
def neutral_cwd() -> Path:
    """An empty folder, one per test session, to run a subprocess in: no `.env` is read there."""
    return Path(tempfile.mkdtemp(prefix="rag-test-cwd-"))
