"""The Slack app manifest matches what the bot listens to and the Web API methods it calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

MANIFEST = Path(__file__).resolve().parents[2] / "slack" / "manifest.yaml"

# Web API method the bot calls → the bot scope Slack requires for it.
SCOPE_OF = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "reactions.add": "reactions:write",
    "reactions.remove": "reactions:write",
}
# Event the bot answers → the scope Slack requires to deliver it.
EVENT_SCOPE = {
    "app_mention": "app_mentions:read",
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "message.im": "im:history",
}


def manifest() -> dict[str, Any]:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_every_request_url_is_the_one_slack_endpoint() -> None:
    app = manifest()
    urls = [
        app["settings"]["event_subscriptions"]["request_url"],
        app["settings"]["interactivity"]["request_url"],
        *(command["url"] for command in app["features"]["slash_commands"]),
    ]
    assert all(url.startswith("https://") and url.endswith("/slack/events") for url in urls)
    assert app["settings"]["interactivity"]["is_enabled"] is True


def test_events_command_and_scopes_cover_what_the_bot_does() -> None:
    app = manifest()
    events = set(app["settings"]["event_subscriptions"]["bot_events"])
    scopes = set(app["oauth_config"]["scopes"]["bot"])
    assert events == set(EVENT_SCOPE)
    assert {EVENT_SCOPE[e] for e in events} <= scopes
    assert set(SCOPE_OF.values()) | {"commands"} <= scopes
    assert [c["command"] for c in app["features"]["slash_commands"]] == ["/guide"]
    assert app["features"]["app_home"]["messages_tab_enabled"] is True  # people can DM the bot
