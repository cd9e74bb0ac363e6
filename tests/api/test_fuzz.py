"""Schemathesis (`schemathesis run --checks all`, the CLI a client's engineer would run) against the real app
served by uvicorn on a loopback port: generated requests, valid and invalid, to every documented operation. No
500s, every response (errors included) conforms to the schema, schema-valid requests are accepted and invalid
ones refused. The one rule JSON Schema cannot state (a chat completion's last message is the user's question)
is in the schema's description and given to the fuzzer by tests/schemathesis_hooks.py. The Slack route is not
in the schema: fuzzed requests cannot carry valid signatures (its own tests and the bad-input matrix cover it)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from llama_index.core.base.embeddings.base import BaseEmbedding

from api.app import create_app
from rag.service import QAService
from rag.settings import Settings
from tests.clean_env import clean_env, neutral_cwd
from tests.serving import serve

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
HOOKS = Path(__file__).resolve().parents[1] / "schemathesis_hooks.py"
# Enough to reach every operation with valid and invalid bodies in every phase (about 700 requests, some
# 10 s); bounded so the suite stays fast on 2 cores. A fixed seed: a failure here is never a fluke.
EXAMPLES_PER_OPERATION = "30"
SEED = "1"
GUIDE = "ai-engineer-job-description-2026.txt"


def fuzzed_settings(built_settings: Settings, state_dir: Path) -> Settings:
    # The fuzzer is one client sending far more than a client may, so the rate limit (tested on its own) is
    # off; no API keys, so every operation is reachable.
    return built_settings.model_copy(
        update={
            "state_path": state_dir / "rag.sqlite3",
            "rate_limit_per_minute": 0.0,
            "api_keys": [],
            "chroma_host": None,
        }
    )


@pytest.fixture(scope="module")
def served_url(
    built_settings: Settings, embed_model: BaseEmbedding, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    settings = fuzzed_settings(built_settings, Path(tmp_path_factory.mktemp("fuzz")))
    with serve(create_app(settings, QAService(settings, embed_model=embed_model))) as url:
        yield url


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.timeout(300)
def test_schemathesis_checks_all_pass_against_the_served_app(served_url: str) -> None:
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{served_url}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        EXAMPLES_PER_OPERATION,
        "--seed",
        SEED,
        "--workers",
        "1",
        "--generation-database",
        "none",  # nothing written into the work tree
        "--no-color",
    ]
    env = clean_env(SCHEMATHESIS_HOOKS=HOOKS)
    run = subprocess.run(command, env=env, cwd=neutral_cwd(), capture_output=True, text=True, timeout=280)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "No issues found" in run.stdout, run.stdout[-6000:]
    # Every documented operation was reached (a schema that lost a route would pass vacuously).
    assert "Tested: 10" in run.stdout, run.stdout[-3000:]


def source_fields(schema: dict[str, object]) -> list[dict[str, object]]:
    components = schema["components"]["schemas"]  # type: ignore[index]
    return [components[name]["properties"]["source"] for name in ("QueryRequest", "RetrieveRequest")]


def test_source_lists_the_documents_of_the_index_in_service(client: TestClient) -> None:
    for field in source_fields(client.get("/openapi.json").json()):
        strings = [branch for branch in field["anyOf"] if branch.get("type") == "string"]  # type: ignore[attr-defined, union-attr]
        assert [branch["enum"] for branch in strings] == [[GUIDE]]
        assert field["examples"] == [GUIDE]
    # What the schema leaves out, the service refuses; what it lists, the service takes.
    assert client.post("/v1/retrieve", json={"query": "salary", "source": "other.txt"}).status_code == 422
    assert client.post("/v1/retrieve", json={"query": "salary", "source": GUIDE}).status_code == 200


def test_source_is_free_text_before_an_index_is_loaded(built_settings: Settings) -> None:
    schema = create_app(built_settings).openapi()  # no lifespan: no service, no index
    for field in source_fields(schema):
        assert all("enum" not in branch for branch in field["anyOf"])  # type: ignore[attr-defined, union-attr]


def test_user_messages_may_hold_only_text_parts(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()["components"]["schemas"]["ChatMessage"]
    assert schema["anyOf"][0]["properties"]["role"]["enum"] == ["system", "developer", "assistant", "tool", "function"]
    image = [{"type": "image_url", "image_url": {"url": "data:,"}}]
    conversation = [{"role": "user", "content": image}, {"role": "user", "content": "And in Seattle?"}]
    assert client.post("/v1/chat/completions", json={"messages": conversation}).status_code == 400
    conversation[0] = {"role": "tool", "content": image}  # not read, so anything goes
    assert client.post("/v1/chat/completions", json={"messages": conversation}).status_code == 200


def test_slack_stays_out_of_the_schema(built_settings: Settings) -> None:
    paths = set(create_app(built_settings).openapi()["paths"])
    assert "/slack/events" not in paths
    assert {"/v1/query", "/v1/retrieve", "/v1/chat/completions"} <= paths
