"""The one settings object: read from the environment (and an optional `.env`) once, then passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from rag.errors import ConfigurationError

DEFAULT_THRESHOLD_FILE = Path(__file__).parent / "answering" / "abstention.json"


class Settings(BaseSettings):
    """Every knob a deployment can turn; names are part of the contract."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    corpus_dir: Path = Field(Path("corpus"), alias="RAG_CORPUS_DIR")
    index_dir: Path = Field(Path("index"), alias="RAG_INDEX_DIR")
    chroma_host: str | None = Field(None, alias="RAG_CHROMA_HOST")
    chroma_port: int = Field(8000, alias="RAG_CHROMA_PORT")
    embed_model: Path | None = Field(None, alias="RAG_EMBED_MODEL")
    # torch threads per process; scale out with workers instead (see rag/index/embedding.py).
    torch_threads: int = Field(1, alias="RAG_TORCH_THREADS", ge=1)
    # The reader (rag/ranking/reader.py): "off" serves without it (for comparison, or a small machine).
    reader: Literal["on", "off"] = Field("on", alias="RAG_READER")

    llm: Literal["extractive", "openai", "anthropic"] = Field("extractive", alias="RAG_LLM")
    llm_base_url: str | None = Field(None, alias="RAG_LLM_BASE_URL")
    llm_model: str | None = Field(None, alias="RAG_LLM_MODEL")
    openai_api_key: str | None = Field(None, alias="OPENAI_API_KEY")
    anthropic_api_key: str | None = Field(None, alias="ANTHROPIC_API_KEY")
    # How hard to try the generator before serving the extractive answer instead (see docs/llm.md).
    llm_timeout: float = Field(15.0, alias="RAG_LLM_TIMEOUT", gt=0)
    llm_max_tokens: int = Field(600, alias="RAG_LLM_MAX_TOKENS", ge=1)
    llm_max_retries: int = Field(2, alias="RAG_LLM_MAX_RETRIES", ge=0)
    llm_backoff: float = Field(0.5, alias="RAG_LLM_BACKOFF", ge=0)
    llm_max_backoff: float = Field(8.0, alias="RAG_LLM_MAX_BACKOFF", ge=0)
    llm_breaker_failures: int = Field(5, alias="RAG_LLM_BREAKER_FAILURES", ge=1)
    llm_breaker_cooldown: float = Field(30.0, alias="RAG_LLM_BREAKER_COOLDOWN", ge=0)

    api_keys: Annotated[list[str], NoDecode] = Field(default_factory=list, alias="RAG_API_KEYS")

    slack_bot_token: str | None = Field(None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: str | None = Field(None, alias="SLACK_SIGNING_SECRET")
    slack_app_token: str | None = Field(None, alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field("https://slack.com/api/", alias="SLACK_API_URL")

    # Conversations, query log, feedback and Slack event record, shared by all worker processes.
    state_path: Path = Field(Path("state/rag.sqlite3"), alias="RAG_STATE_PATH")
    # PostgreSQL instead (e.g. postgresql://rag:secret@db.internal/rag), for workers on several machines.
    state_dsn: str | None = Field(None, alias="RAG_STATE_DSN", repr=False)

    host: str = Field("127.0.0.1", alias="RAG_HOST")
    port: int = Field(8000, alias="RAG_PORT")
    # Server logs: one JSON object a line (with request and query ids) or plain text for a terminal.
    log_format: Literal["json", "text"] = Field("json", alias="RAG_LOG_FORMAT")
    log_level: str = Field("INFO", alias="RAG_LOG_LEVEL", pattern=r"(?i)^(debug|info|warning|error)$")

    top_k: int = Field(5, alias="RAG_TOP_K", ge=1, le=50)
    max_top_k: int = Field(50, alias="RAG_MAX_TOP_K", ge=1)
    max_question_chars: int = Field(2000, alias="RAG_MAX_QUESTION_CHARS", ge=1)
    # Answers kept per worker for repeated questions on an unchanged index (rag/operations/cache.py); 0 turns it off.
    answer_cache_size: int = Field(1024, alias="RAG_ANSWER_CACHE_SIZE", ge=0)
    # Where `rag eval --calibrate` writes the abstention threshold; the answerer reads it.
    threshold_file: Path = Field(DEFAULT_THRESHOLD_FILE, alias="RAG_THRESHOLD_FILE")
    abstain_threshold: float | None = Field(None, alias="RAG_ABSTAIN_THRESHOLD")

    # Hardening (SECURITY.md): what one request, one client and the stored state may take.
    # Room for a long chat resent whole (256 messages of answers with footnotes), not for a flood.
    max_body_bytes: int = Field(1024 * 1024, alias="RAG_MAX_BODY_BYTES", ge=1)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list, alias="RAG_CORS_ORIGINS")
    rate_limit_per_minute: float = Field(120.0, alias="RAG_RATE_LIMIT_PER_MINUTE", ge=0)  # 0 turns it off
    rate_limit_burst: int = Field(60, alias="RAG_RATE_LIMIT_BURST", ge=1)
    request_timeout_seconds: float = Field(30.0, alias="RAG_REQUEST_TIMEOUT_SECONDS", gt=0)
    max_concurrent_answers: int = Field(4, alias="RAG_MAX_CONCURRENT_ANSWERS", ge=1)
    max_queued_answers: int = Field(64, alias="RAG_MAX_QUEUED_ANSWERS", ge=0)
    conversation_max_turns: int = Field(20, alias="RAG_CONVERSATION_MAX_TURNS", ge=1)
    conversation_ttl_seconds: float = Field(24 * 3600, alias="RAG_CONVERSATION_TTL_SECONDS", gt=0)
    max_conversations: int = Field(10_000, alias="RAG_MAX_CONVERSATIONS", ge=1)
    query_log_max_entries: int = Field(200_000, alias="RAG_QUERY_LOG_MAX_ENTRIES", ge=1)

    @field_validator("api_keys", "cors_origins", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [key.strip() for key in value.split(",") if key.strip()]
        return value

    @property
    def uses_chroma_server(self) -> bool:
        return bool(self.chroma_host)


# Never echoed back in an error message.
SECRET_SETTINGS = {
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "RAG_API_KEYS",
    "RAG_STATE_DSN",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
}


def load_settings() -> Settings:
    """The settings of this process; a broken value is a ConfigurationError of one line naming the
    variable and what it holds, not pydantic's multi-line report."""
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigurationError(describe_settings_error(exc)) from None


def describe_settings_error(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False):
        name = ".".join(str(part) for part in error.get("loc", ())) or "settings"
        shown = name if name in SECRET_SETTINGS else f"{name}={error.get('input')!r}"
        problems.append(f"{shown}: {error.get('msg', 'invalid')}")
    return "bad setting " + "; ".join(problems)
