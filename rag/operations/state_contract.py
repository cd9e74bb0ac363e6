"""What every state store promises, whatever holds the data: the SQLite store (`state.py`) and the
PostgreSQL one (`state_postgres.py`) both implement it, and neither imports the other to do so (the
factory, `state.open_state_store`, is the only one to know both).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Turn:
    """One question of a conversation, as asked and as resolved, with the answer it got."""

    question: str
    resolved: str
    answer: str


class SharedState(ABC):
    """Conversations, the query log, feedback and the Slack event record, shared by every worker."""

    def __init__(
        self,
        max_turns: int = 20,
        conversation_ttl_seconds: float = 24 * 3600,
        max_conversations: int = 10_000,
        max_logged_queries: int = 200_000,
    ) -> None:
        self.max_turns = max_turns
        self.conversation_ttl = conversation_ttl_seconds
        self.max_conversations = max_conversations
        self.max_logged_queries = max_logged_queries

    # -- conversations -------------------------------------------------------------------------
    @abstractmethod
    def turns(self, conversation_id: str) -> list[Turn]:
        """The conversation's turns, oldest first; expired conversations are empty."""

    @abstractmethod
    def latest_conversation(self, prefix: str, within_seconds: float) -> str | None:
        """The conversation, among those whose id starts with `prefix`, that had the latest turn, if that
        turn is at most `within_seconds` old (and the conversation not expired); else None."""

    @abstractmethod
    def add_turn(self, conversation_id: str, question: str, resolved: str, answer: str) -> None:
        """Append a turn, keeping the last `max_turns` of it and at most `max_conversations` conversations."""

    # -- query log and feedback ----------------------------------------------------------------
    @abstractmethod
    def log_query(self, record: dict[str, Any]) -> None:
        """Log (or replace, by `query_id`) one answered query; the log keeps the newest `max_logged_queries`."""

    @abstractmethod
    def query_exists(self, query_id: str) -> bool:
        """Whether the query log holds this id."""

    @abstractmethod
    def record_feedback(
        self, query_id: str, rating: str, comment: str | None, source: str, voter: str | None = None
    ) -> None:
        """Store a vote. A `voter` (e.g. `slack:U123`) has one vote per answer, the latest: voting again
        replaces it. Without one, every call is a vote of its own."""

    @abstractmethod
    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Read-only access for reports, with `?` placeholders whatever the database."""

    # -- Slack event de-duplication ------------------------------------------------------------
    @abstractmethod
    def claim_event(self, event_id: str, keep_seconds: float = 24 * 3600) -> bool:
        """True exactly once per event id, across every process sharing this store."""
