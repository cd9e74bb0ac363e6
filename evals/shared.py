"""Where the shared folder lies (`../shared`: the guide, the 18F pages, the training corpora), found
without importing the library, so light tools (the training-set validator) start at once."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def shared_folder() -> Path:
    """The shared folder beside the project (`../shared`), wherever the project was cloned: named by
    RAG_SHARED_DIR, else beside this checkout, else where it lies on these machines."""
    named = os.environ.get("RAG_SHARED_DIR")
    candidates = [Path(named)] if named else [ROOT.parent / "shared", Path("/work/shared")]
    return next((c for c in candidates if c.is_dir()), candidates[0])
