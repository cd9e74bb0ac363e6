"""Logs as one JSON object a line, each carrying the request's id and, once a question is answered,
its `query_id` — so a log line, a metric spike and a row of the query log can be joined.

Configured by the app factory (never on import): a process that only imports `api` keeps its logging.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from contextvars import ContextVar
from typing import Any

from rag.operations.timing import current_trace
from rag.settings import Settings

request_id_var: ContextVar[str | None] = ContextVar("rag_request_id", default=None)

# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged as a field.
STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class RequestContextFilter(logging.Filter):
    """Stamps each record with the current request id and query id (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get()
        if getattr(record, "query_id", None) is None:
            trace = current_trace()
            record.query_id = trace.query_id if trace else None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, query_id and any extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,  # which worker, when several serve behind one port
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "query_id": getattr(record, "query_id", None),
        }
        for key, value in vars(record).items():
            if key not in STANDARD_ATTRIBUTES and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [request=%(request_id)s query=%(query_id)s] %(message)s"


def configure_logging(settings: Settings) -> logging.Handler:
    """Send every log record to stderr in the configured format. Idempotent: calling it again (one app per
    test) replaces the handler it installed instead of adding another."""
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name("rag")
    handler.addFilter(RequestContextFilter())
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for existing in list(root.handlers):
        # Ours from an earlier call, and a plain console handler (the CLI's basicConfig) that would print
        # every line twice. Subclasses (pytest's capture handlers) are left alone.
        if existing.get_name() == "rag" or type(existing) is logging.StreamHandler:
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    return handler
