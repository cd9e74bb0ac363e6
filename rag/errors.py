"""Errors of the domain. The API maps them to status codes in one place, the CLI to one-line messages."""


class RagError(Exception):
    """Base of every error this package raises on purpose; `param` names the input field at fault, written
    as a caller writes it (`question`, `messages[2].content`), when one is."""

    code = "rag_error"

    def __init__(self, message: str = "", *, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class InvalidQuestion(RagError):
    """The caller's question or parameters cannot be answered as given."""

    code = "invalid_request"


class IndexMissing(RagError):
    """No index has been built yet (or it was removed)."""

    code = "index_missing"


class IndexUnavailable(RagError):
    """The index exists but cannot be reached or read (Chroma server down, corrupt store)."""

    code = "index_unavailable"


class IndexDamaged(IndexUnavailable):
    """The index folder's files are not a readable Chroma store (corrupt, or not a database at all)."""


class CorpusError(RagError):
    """The corpus folder is missing or holds nothing that can be indexed."""

    code = "corpus_error"


class ConfigurationError(RagError):
    """A setting is missing or inconsistent."""

    code = "configuration_error"
