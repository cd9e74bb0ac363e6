"""Requests as Slack sends them to our app: signed with the real v0 algorithm, in Slack's body formats."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

from fastapi.testclient import TestClient
from httpx import Response

from tests.fakes.slack_api import BOT_USER_ID, TEAM_ID

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
HUMAN = "UHUMAN001"
CHANNEL = "C0GENERAL"
DM = "D0DIRECT1"


def signed_headers(body: str, secret: str = SECRET, timestamp: int | str | None = None) -> dict[str, str]:
    """`X-Slack-Signature: v0=HMAC-SHA256(secret, "v0:{timestamp}:{body}")`, as Slack computes it."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


def event_body(event: dict[str, Any], event_id: str) -> str:
    return json.dumps(
        {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "api_app_id": "A0GUIDE01",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": event,
            "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
        }
    )


def post_event(client: TestClient, event: dict[str, Any], event_id: str, retry: int | None = None) -> Response:
    body = event_body(event, event_id)
    headers = {**signed_headers(body), "Content-Type": "application/json"}
    if retry:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    return client.post("/slack/events", content=body, headers=headers)


def mention(text: str, ts: str, channel: str = CHANNEL, thread_ts: str | None = None) -> dict[str, Any]:
    event = {
        "type": "app_mention",
        "user": HUMAN,
        "text": f"<@{BOT_USER_ID}> {text}",
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
    }
    return event | ({"thread_ts": thread_ts} if thread_ts else {})


def message(text: str, ts: str, channel: str = CHANNEL, channel_type: str = "channel", **extra: Any) -> dict[str, Any]:
    event = {"type": "message", "user": HUMAN, "text": text, "ts": ts, "channel": channel, "event_ts": ts}
    return event | {"channel_type": channel_type} | extra


def post_form(client: TestClient, fields: dict[str, str]) -> Response:
    body = urlencode(fields)
    headers = {**signed_headers(body), "Content-Type": "application/x-www-form-urlencoded"}
    return client.post("/slack/events", content=body, headers=headers)


def command_fields(text: str, response_url: str) -> dict[str, str]:
    """A `/guide` invocation, as Slack sends it (form fields over HTTP, a dict over Socket Mode)."""
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "channel_id": CHANNEL,
        "channel_name": "general",
        "user_id": HUMAN,
        "user_name": "ada",
        "command": "/guide",
        "text": text,
        "api_app_id": "A0GUIDE01",
        "response_url": response_url,
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
    }


def post_command(client: TestClient, text: str, response_url: str) -> Response:
    return post_form(client, command_fields(text, response_url))


def post_click(
    client: TestClient,
    action_id: str,
    query_id: str,
    response_url: str,
    posted: dict[str, Any] | None = None,
    user: str = HUMAN,
) -> Response:
    """A click by `user` on a feedback button: of `posted` (a message as chat.postMessage returned it), or
    of an ephemeral message when `posted` is None (Slack then sends no `message` with the click)."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": TEAM_ID, "domain": "fake-team"},
        "user": {"id": user, "username": user.lower(), "team_id": TEAM_ID},
        "api_app_id": "A0GUIDE01",
        "token": "legacy-verification-token",
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "channel": {"id": CHANNEL, "name": "general"},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": "feedback",
                "text": {"type": "plain_text", "text": "vote", "emoji": True},
                "value": query_id,
                "type": "button",
                "action_ts": str(time.time()),
            }
        ],
    }
    if posted is None:
        payload["container"] = {
            "type": "message",
            "message_ts": "1.000001",
            "channel_id": CHANNEL,
            "is_ephemeral": True,
        }
    else:
        payload["channel"]["id"] = posted["channel"]
        payload["message"] = posted["message"]
        payload["container"] = {
            "type": "message",
            "message_ts": posted["ts"],
            "channel_id": posted["channel"],
            "is_ephemeral": False,
        }
    return post_form(client, {"payload": json.dumps(payload)})


def section_texts(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")


def context_texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]
