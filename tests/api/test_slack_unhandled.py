"""What Slack sends that the bot does not act on: signed events, actions and bodies no listener handles are
acknowledged with 200 (Slack retries anything else, and shows a failure to the user) and logged, and the
bot starts without slack-bolt's warnings."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from llama_index.core.base.embeddings.base import BaseEmbedding

from api.app import create_app
from rag.service import QAService
from rag.settings import Settings
from tests.conftest import make_settings
from tests.fakes.slack_api import TEAM_ID, TOKEN, FakeSlackAPI, fake_slack_api
from tests.fakes.slack_requests import CHANNEL, HUMAN, SECRET, post_click, post_event, signed_headers

pytestmark = pytest.mark.integration


@pytest.fixture()
def slack_api() -> Iterator[FakeSlackAPI]:
    with fake_slack_api() as fake:
        yield fake


@pytest.fixture()
def settings(tmp_path: Path, built_settings: Settings, slack_api: FakeSlackAPI) -> Settings:
    return make_settings(
        tmp_path,
        RAG_INDEX_DIR=built_settings.index_dir,
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=slack_api.base_url,
    )


def running(settings: Settings, embed_model: BaseEmbedding) -> TestClient:
    return TestClient(create_app(settings, QAService(settings, embed_model=embed_model)))


def post_json(client: TestClient, payload: dict[str, Any]) -> Any:
    body = json.dumps(payload)
    return client.post(
        "/slack/events", content=body, headers={**signed_headers(body), "Content-Type": "application/json"}
    )


def slack_logs(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("api.slack"))


UNHANDLED_EVENTS = {
    "reaction_added": {
        "type": "reaction_added",
        "user": HUMAN,
        "reaction": "thumbsup",
        "item": {"type": "message", "channel": CHANNEL, "ts": "1700000001.000100"},
        "event_ts": "1700000002.000100",
    },
    "app_home_opened": {"type": "app_home_opened", "user": HUMAN, "channel": "D0HOME001", "tab": "home"},
}


@pytest.mark.parametrize("kind", sorted(UNHANDLED_EVENTS))
def test_an_event_the_bot_does_not_handle_is_acknowledged_and_logged(
    settings: Settings, embed_model: BaseEmbedding, slack_api: FakeSlackAPI, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    with caplog.at_level(logging.INFO, logger="api"), running(settings, embed_model) as client:
        response = post_event(client, UNHANDLED_EVENTS[kind], f"Ev{kind}")
    assert response.status_code == 200, response.text
    assert kind in slack_logs(caplog)
    assert [c.method for c in slack_api.calls if c.method != "auth.test"] == []


def test_an_unknown_action_is_acknowledged_and_logged(
    settings: Settings, embed_model: BaseEmbedding, slack_api: FakeSlackAPI, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="api"), running(settings, embed_model) as client:
        response = post_click(client, "open_settings", "q-unknown", slack_api.hook_url("respond"))
    assert response.status_code == 200, response.text
    assert "open_settings" in slack_logs(caplog)
    assert [c.method for c in slack_api.calls if c.method != "auth.test"] == []


def test_a_signed_empty_object_is_acknowledged_and_logged(
    settings: Settings, embed_model: BaseEmbedding, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="api"), running(settings, embed_model) as client:
        response = post_json(client, {})
        shortcut = post_json(client, {"type": "shortcut", "team": {"id": TEAM_ID}, "callback_id": "nothing"})
    assert (response.status_code, shortcut.status_code) == (200, 200), (response.text, shortcut.text)
    assert "no listener" in slack_logs(caplog)


def test_the_bot_starts_without_bolt_warnings(
    settings: Settings,
    embed_model: BaseEmbedding,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # How a deployment sets the token: in the environment, which slack-bolt also reads on its own.
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    with caplog.at_level(logging.INFO), running(settings, embed_model) as client:
        assert client.get("/healthz").status_code == 200
        time.sleep(0.1)
    bolt = [r.getMessage() for r in caplog.records if r.name.startswith("slack_bolt") and r.levelno >= logging.WARNING]
    assert bolt == []
