"""Schemathesis against the app's own OpenAPI schema: generated requests, valid and invalid, to every
documented operation. No 500s, and every response (errors included) conforms to what the schema declares.
The Slack route is not in the schema: fuzzed requests cannot carry valid signatures (its own tests and the
bad-input matrix cover it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from llama_index.core.base.embeddings.base import BaseEmbedding
from schemathesis.checks import positive_data_acceptance
from schemathesis.python.asgi import shutdown_lifespans

from api.app import create_app
from rag.service import QAService
from rag.settings import Settings

# Enough to reach every operation with valid and invalid bodies; bounded so the suite stays fast on 2 cores.
EXAMPLES_PER_OPERATION = 30
# What the fuzzed app runs with, on top of the test index: the fuzzer is one client sending far more than a
# client may, so the rate limit (tested on its own) is off; no API keys, so every operation is reachable.
FUZZED = {"RAG_RATE_LIMIT_PER_MINUTE": 0.0, "RAG_API_KEYS": "", "RAG_CHROMA_HOST": None}

# The schema is read from an app built for the same settings (the schema does not depend on the index),
# at import time, because Schemathesis' fixture-based loader does not work with this pytest.
schema = schemathesis.openapi.from_dict(create_app(Settings(_env_file=None, **FUZZED)).openapi())  # type: ignore[call-arg, arg-type]


@pytest.fixture(scope="module")
def fuzzed_app(
    built_settings: Settings, embed_model: BaseEmbedding, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FastAPI]:
    state = Path(tmp_path_factory.mktemp("fuzz")) / "rag.sqlite3"
    settings = built_settings.model_copy(
        update={"state_path": state, "rate_limit_per_minute": 0.0, "api_keys": [], "chroma_host": None}
    )
    app = create_app(settings, QAService(settings, embed_model=embed_model))
    yield app
    shutdown_lifespans()  # Schemathesis ran the app's lifespan; end it with the module


@pytest.mark.slow
@pytest.mark.timeout(300)
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,  # the same examples on every run: a failure here is never a fluke
    database=None,  # and nothing written into the work tree (.hypothesis/)
)
def test_the_api_honours_its_own_schema(case: schemathesis.Case, fuzzed_app: FastAPI) -> None:
    case.call_and_validate(app=fuzzed_app, excluded_checks=unstatable(case))


# The OpenAI wire format cannot say in JSON Schema that the last message must be the user's and hold a
# question: schema-valid conversations may rightly get a 422 there. Every other check still applies.
UNSTATABLE = {"/v1/chat/completions": [positive_data_acceptance]}


def unstatable(case: schemathesis.Case) -> list:  # type: ignore[type-arg]
    checks = list(UNSTATABLE.get(case.operation.path, []))
    # A source filter names a document of the index, which the schema cannot list: a schema-valid path of no
    # document rightly gets a 422. Requests without one keep every check.
    if isinstance(case.body, dict) and "source" in case.body:
        checks.append(positive_data_acceptance)
    return checks


def test_the_fuzzed_app_serves_the_schema_that_was_fuzzed(fuzzed_app: FastAPI) -> None:
    assert fuzzed_app.openapi() == schema.raw_schema


def test_slack_stays_out_of_the_schema() -> None:
    paths = set(schema.raw_schema["paths"])
    assert "/slack/events" not in paths
    assert {"/v1/query", "/v1/retrieve", "/v1/chat/completions"} <= paths
