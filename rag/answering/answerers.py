"""The one place the answerer is chosen from settings: extractive (the default), or a chat model
(`RAG_LLM=openai` / `anthropic`) whose verified replies fall back to the extractive answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from llama_index.core.base.embeddings.base import BaseEmbedding

from rag.answering.extractive import ExtractiveAnswerer, load_threshold
from rag.answering.generation import ChatProvider, GenerativeAnswerer
from rag.answering.providers import AnthropicChat, OpenAIChat
from rag.answering.shapes import Asked
from rag.errors import ConfigurationError
from rag.models import Answer, RetrievedChunk
from rag.operations.resilience import CircuitBreaker, RetryPolicy
from rag.settings import Settings

# Local OpenAI-compatible servers (llama.cpp, vLLM, Ollama) ignore the key, but the client wants one.
NO_KEY_NEEDED = "not-needed"


class Answerer(Protocol):
    """What `QAService` asks of an answerer."""

    name: str

    def compose(
        self,
        query_id: str,
        question: str,
        dense_question: str,
        retrieved: Sequence[RetrievedChunk],
        parts: int = 1,
        asked: Asked | None = None,
        confidence: float | None = None,
    ) -> Answer: ...


def build_answerer(settings: Settings, embed_model: BaseEmbedding) -> Answerer:
    """The answerer `settings.llm` asks for; raises ConfigurationError when its settings are incomplete."""
    extractive = ExtractiveAnswerer(embed_model, load_threshold(settings.threshold_file, settings.abstain_threshold))
    match settings.llm:
        case "extractive":
            return extractive
        case "openai" | "anthropic":
            return GenerativeAnswerer(
                build_provider(settings),
                extractive,
                RetryPolicy(settings.llm_max_retries, settings.llm_backoff, settings.llm_max_backoff),
                CircuitBreaker(settings.llm_breaker_failures, settings.llm_breaker_cooldown),
            )
    raise ConfigurationError(f"RAG_LLM must be extractive, openai or anthropic, got {settings.llm!r}")


def build_provider(settings: Settings) -> ChatProvider:
    if not settings.llm_model:
        raise ConfigurationError(f"RAG_LLM={settings.llm} needs RAG_LLM_MODEL (the model to ask)")
    match settings.llm:
        case "openai":
            key = settings.openai_api_key or (NO_KEY_NEEDED if settings.llm_base_url else None)
            if key is None:
                raise ConfigurationError("RAG_LLM=openai needs OPENAI_API_KEY, or RAG_LLM_BASE_URL for a local server")
            return OpenAIChat(
                settings.llm_model, key, settings.llm_base_url, settings.llm_timeout, settings.llm_max_tokens
            )
        case "anthropic":
            if not settings.anthropic_api_key:
                raise ConfigurationError("RAG_LLM=anthropic needs ANTHROPIC_API_KEY")
            return AnthropicChat(
                settings.llm_model,
                settings.anthropic_api_key,
                settings.llm_base_url,
                settings.llm_timeout,
                settings.llm_max_tokens,
            )
    raise ConfigurationError(f"RAG_LLM={settings.llm} is not a chat model provider")
