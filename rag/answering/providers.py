"""Chat model adapters over the official client libraries: the OpenAI Chat Completions API (OpenAI,
vLLM, Ollama, llama.cpp's server...) and Anthropic's Messages API. Each turns its library's errors
into `ProviderError`; retries and the circuit breaker live in `rag.operations.resilience`, so the libraries'
own retries are switched off (one policy, one place, configured by settings)."""

from __future__ import annotations

import email.utils
import time
from types import ModuleType
from typing import Any

from rag.operations.resilience import ProviderError

# Statuses worth another attempt: rate limited, timed out on their side, overloaded or broken.
RETRYABLE_STATUS = frozenset({408, 409, 429})


def retry_after(headers: Any) -> float | None:
    """Seconds to wait from `retry-after-ms` or `retry-after` (seconds or an HTTP date), if given."""
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(float(millis) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def provider_error(error: Exception, library: ModuleType, provider: str) -> ProviderError:
    """Classify an error of the `openai` or `anthropic` library (they share one error hierarchy).
    A timeout is not retried: it has already cost the person the whole timeout."""
    if isinstance(error, library.APITimeoutError):
        return ProviderError(f"{provider} timed out", retryable=False)
    if isinstance(error, library.APIConnectionError):
        return ProviderError(f"{provider} unreachable: {error}", retryable=True)
    if isinstance(error, library.APIStatusError):
        status = error.status_code
        return ProviderError(
            f"{provider} answered HTTP {status}",
            retryable=status in RETRYABLE_STATUS or status >= 500,
            retry_after=retry_after(error.response.headers),
        )
    return ProviderError(f"{provider} failed: {error}", retryable=False)


class OpenAIChat:
    """Any server that speaks OpenAI's Chat Completions."""

    name = "openai"

    def __init__(self, model: str, api_key: str, base_url: str | None, timeout: float, max_tokens: int) -> None:
        import openai

        self.library = openai
        self.model = model
        self.max_tokens = max_tokens
        self.client = openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)

    def complete(self, system: str, user: str) -> str:
        try:
            response = self.client.chat.completions.create(
                model=self.model,
                messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
                max_tokens=self.max_tokens,
            )
        except self.library.OpenAIError as error:
            raise provider_error(error, self.library, self.name) from error
        if not response.choices:
            raise ProviderError(f"{self.name} returned no choices", retryable=False)
        return response.choices[0].message.content or ""


class AnthropicChat:
    """Anthropic's Messages API (or a gateway that speaks it, via `RAG_LLM_BASE_URL`)."""

    name = "anthropic"

    def __init__(self, model: str, api_key: str, base_url: str | None, timeout: float, max_tokens: int) -> None:
        import anthropic

        self.library = anthropic
        self.model = model
        self.max_tokens = max_tokens
        self.client = anthropic.Anthropic(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)

    def complete(self, system: str, user: str) -> str:
        try:
            message = self.client.messages.create(
                model=self.model,
                max_tokens=self.max_tokens,
                system=system,
                messages=[{"role": "user", "content": user}],
            )
        except self.library.AnthropicError as error:
            raise provider_error(error, self.library, self.name) from error
        return "".join(block.text for block in message.content if block.type == "text")
