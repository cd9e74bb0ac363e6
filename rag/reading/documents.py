"""Loading the corpus: every .txt, .md and .html file under the corpus folder, as text."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from rag.errors import CorpusError

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")


@dataclass(frozen=True)
class Document:
    """A source document; `source` is its path relative to the corpus folder (always with `/`)."""

    source: str
    text: str

    @property
    def suffix(self) -> str:
        return Path(self.source).suffix.lower()


def read_source_text(path: Path) -> str:
    """The text offsets refer to: the file decoded as UTF-8, newlines left exactly as stored."""
    with path.open(encoding="utf-8", newline="") as handle:
        return handle.read()


def load_documents(corpus_dir: Path) -> list[Document]:
    """Every readable supported file, sorted by path. Unreadable files are skipped with a warning."""
    if not corpus_dir.is_dir():
        raise CorpusError(f"corpus folder {corpus_dir} does not exist")
    documents = []
    for path in sorted(corpus_dir.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in SUPPORTED_SUFFIXES:
            continue
        if any(part.startswith(".") for part in path.relative_to(corpus_dir).parts):
            continue
        source = path.relative_to(corpus_dir).as_posix()
        try:
            text = read_source_text(path)
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("skipping %s: cannot be read as UTF-8 text (%s)", source, exc)
            continue
        documents.append(Document(source, text))
    return documents
