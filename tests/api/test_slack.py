"""The Slack bot end to end: signed requests posted to the real app (`TestClient`, lifespan running),
answers computed on the real index, and Slack's Web API played by a loopback fake that the real
`slack_sdk` client talks to. Leaving the `TestClient` block shuts the app down, which waits for the
answers in flight, so what the fake recorded afterwards is final."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from llama_index.core.base.embeddings.base import BaseEmbedding
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from api.app import create_app
from rag.models import Answer
from rag.operations.reporting import build_report
from rag.operations.state import StateStore
from rag.service import QAService
from rag.settings import Settings
from tests.conftest import make_settings
from tests.fakes.slack_api import APP_TOKEN, BOT_ID, BOT_USER_ID, TOKEN, FakeSlackAPI, fake_slack_api
from tests.fakes.slack_requests import (
    CHANNEL,
    DM,
    SECRET,
    command_fields,
    context_texts,
    event_body,
    mention,
    message,
    post_click,
    post_command,
    post_event,
    section_texts,
    signed_headers,
)

SEATTLE = "$160,000 - $220,000"
AUSTIN = "$135,000 - $185,000"
DENVER = "$125,000 - $170,000"

pytestmark = pytest.mark.integration


@pytest.fixture()
def slack_api() -> Iterator[FakeSlackAPI]:
    with fake_slack_api() as fake:
        yield fake


def slack_settings(tmp: Path, built: Settings, slack_api: FakeSlackAPI, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "RAG_INDEX_DIR": built.index_dir,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack_api.base_url,
    }
    return make_settings(tmp, **(values | overrides))


@pytest.fixture()
def settings(tmp_path: Path, built_settings: Settings, slack_api: FakeSlackAPI) -> Settings:
    return slack_settings(tmp_path, built_settings, slack_api)


def running(settings: Settings, embed_model: BaseEmbedding, service: QAService | None = None) -> TestClient:
    return TestClient(create_app(settings, service or QAService(settings, embed_model=embed_model)))


def blocks_of(call_params: dict[str, Any]) -> list[dict[str, Any]]:
    return call_params["blocks"]


def feedback_values(blocks: Sequence[dict[str, Any]]) -> set[str]:
    return {e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]}


def test_a_post_slack_refuses_still_counts_as_an_attempt(slack_api: FakeSlackAPI) -> None:
    """'Nothing was posted' checks use `calls_to`: it must see a post that Slack would refuse."""
    client = WebClient(token=TOKEN, base_url=slack_api.base_url)
    with pytest.raises(SlackApiError, match="no_text"), pytest.warns(UserWarning, match="`text` argument"):
        client.chat_postMessage(channel=CHANNEL, text="")
    assert [(c.method, c.ok) for c in slack_api.calls_to("chat.postMessage")] == [("chat.postMessage", False)]
    with pytest.raises(AssertionError, match="refused 1 of 1"):
        slack_api.accepted("chat.postMessage")


# -- receiving -----------------------------------------------------------------------------------------


def test_url_verification_answers_its_challenge(
    settings: Settings, embed_model: BaseEmbedding, slack_api: FakeSlackAPI
) -> None:
    body = json.dumps(
        {"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}
    )
    with running(settings, embed_model) as client:
        response = client.post(
            "/slack/events", content=body, headers={**signed_headers(body), "Content-Type": "application/json"}
        )
    assert response.status_code == 200
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    assert slack_api.calls == []


def test_bad_or_stale_signatures_get_401_and_nothing_else_happens(
    settings: Settings, embed_model: BaseEmbedding, slack_api: FakeSlackAPI
) -> None:
    import time

    body = event_body(mention("What do AI engineers earn in Seattle?", "1700000001.000100"), "EvBadSig")
    now = int(time.time())
    forged = {
        "wrong secret": signed_headers(body, secret="not-the-secret"),
        "stale timestamp": signed_headers(body, timestamp=now - 6 * 60),
        "timestamp from the future": signed_headers(body, timestamp=now + 6 * 60),
        "other body": signed_headers(body.replace("Seattle", "Austin")),
        "timestamp not a number": signed_headers(body, timestamp="yesterday"),
        "no signature": {},
    }
    with running(settings, embed_model) as client:
        for why, headers in forged.items():
            response = client.post(
                "/slack/events", content=body, headers={**headers, "Content-Type": "application/json"}
            )
            assert response.status_code == 401, why
            assert response.json()["error"]["code"] == "invalid_signature", why
    assert slack_api.calls == []
    store = StateStore(settings.state_path)
    assert store.rows("SELECT COUNT(*) FROM events") == [(0,)]
    assert store.rows("SELECT COUNT(*) FROM queries") == [(0,)]


def test_without_slack_credentials_the_app_starts_and_the_route_says_so(
    tmp_path: Path, built_settings: Settings, embed_model: BaseEmbedding
) -> None:
    settings = make_settings(tmp_path, RAG_INDEX_DIR=built_settings.index_dir)
    body = event_body(mention("What do AI engineers earn in Seattle?", "1700000001.000100"), "EvNoCreds")
    with running(settings, embed_model) as client:
        response = client.post("/slack/events", content=body, headers=signed_headers(body))
        assert response.status_code == 503
        error = response.json()["error"]
        assert error["code"] == "slack_not_configured"
        assert "SLACK_BOT_TOKEN" in error["message"] and "SLACK_SIGNING_SECRET" in error["message"]
        assert client.get("/healthz").status_code == 200
        assert client.post("/v1/query", json={"question": "What do AI engineers earn in Seattle?"}).status_code == 200
        assert "/slack/events" not in client.get("/openapi.json").json()["paths"]


def test_a_signing_secret_without_a_bot_token_is_reported(
    tmp_path: Path, built_settings: Settings, embed_model: BaseEmbedding
) -> None:
    settings = make_settings(tmp_path, RAG_INDEX_DIR=built_settings.index_dir, SLACK_SIGNING_SECRET=SECRET)
    body = event_body(mention("hello", "1700000001.000100"), "EvNoToken")
    with running(settings, embed_model) as client:
        response = client.post("/slack/events", content=body, headers=signed_headers(body))
    assert response.status_code == 503
    assert "SLACK_BOT_TOKEN is missing" in response.json()["error"]["message"]


# -- answering -----------------------------------------------------------------------------------------


def test_a_mention_is_seen_then_answered_once_in_its_thread_with_cited_sections(
    settings: Settings, embed_model: BaseEmbedding, slack_api: FakeSlackAPI
) -> None:
    ts = "1700000100.000100"
    with running(settings, embed_model) as client:
        response = post_event(client, mention("What do AI engineers earn in Seattle?", ts), "Ev0001")
        assert response.status_code == 200
    reactions = slack_api.accepted("reactions.add")
    posts = slack_api.accepted("chat.postMessage")
    assert [(c.params["channel"], c.params["timestamp"], c.params["name"]) for c in reactions] == [
        (CHANNEL, ts, "eyes")
    ]
    assert len(posts) == 1
    assert reactions[0].at <= posts[0].at
    reply = posts[0].params
    assert reply["channel"] == CHANNEL and reply["thread_ts"] == ts
    blocks = blocks_of(reply)
    answer_text = section_texts(blocks)
    assert SEATTLE in answer_text and "[1]" in answer_text
    sources = context_texts(blocks)
    assert sources[0].startswith('[1] Compensation Guide &gt; Regional Salary Data — "Seattle $160,000 - $220,000')
    assert SEATTLE in reply["text"]  # the notification text
    (query_id,) = feedback_values(blocks)
    store = StateStore(settings.state_path)
    assert store.rows("SELECT channel, conversation_id, answerable FROM queries WHERE query_id = ?", (query_id,)) == [
        ("slack", f"slack:{CHANNEL}:{ts}", 1)
    ]


def test_a_retried_event_is_answered_once(
    settings: Settings, embed_model: BaseEmbedding, slack_api: FakeSlackAPI
) -> None:
    event = mention("What do AI engineers earn in Seattle?", "1700000200.000100")
    with running(settings, embed_model) as client:
        statuses = [post_event(client, event, "Ev0002", retry=attempt).status_code for attempt in (None, 1, 2)]
    assert statuses == [200, 200, 200]
    assert len(slack_api.calls_to("chat.postMessage")) == 1
    assert len(slack_api.calls_to("reactions.add")) == 1


def test_two_workers_sharing_the_state_answer_a_retried_event_once(
    settings: Settings, embed_model: BaseEmbedding, slack_api: FakeSlackAPI
) -> None:
    event = mention("What do AI engineers earn in Seattle?", "1700000300.000100")
    with running(settings, embed_model) as first, running(settings, embed_model) as second:
        assert post_event(first, event, "Ev0003").status_code == 200
        assert post_event(second, event, "Ev0003", retry=1).status_code == 200
        assert post_event(second, event, "Ev0003", retry=2).status_code == 200
    posts = slack_api.accepted("chat.postMessage")
    assert len(posts) == 1 and SEATTLE in section_texts(blocks_of(posts[0].params))


def test_a_followup_in_the_thread_is_answered_with_the_earlier_turn(
    settings: Settings, embed_model: BaseEmbedding, slack_api: FakeSlackAPI
) -> None:
    root = "1700000400.000100"
    with running(settings, embed_model) as client:
        post_event(client, mention("What do AI engineers earn in Austin?", root), "Ev0010")
        slack_api.wait_for("chat.postMessage", 1)
        # No mention: a reply in a thread the bot has answered is for the bot.
        post_event(client, message("And in Seattle?", "1700000401.000100", thread_ts=root), "Ev0011")
        # The same words in a thread the bot never answered are someone else's conversation.
        post_event(client, message("And in Seattle?", "1700000501.000100", thread_ts="1700000500.000100"), "Ev0012")
    first, second = (c.params for c in slack_api.accepted("chat.postMessage"))
    assert AUSTIN in section_texts(blocks_of(first))
    assert second["thread_ts"] == root
    assert SEATTLE in section_texts(blocks_of(second))
    assert any("Regional Salary Data" in line for line in context_texts(blocks_of(second)))
    turns = StateStore(settings.state_path).turns(f"slack:{CHANNEL}:{root}")
    assert [t.question for t in turns] == ["What do AI engineers earn in Austin?", "And in Seattle?"]


def test_a_direct_message_is_answered_in_the_dm_itself_and_a_thread_reply_in_its_thread(
    settings: Settings, embed_model: BaseEmbedding, slack_api: FakeSlackAPI
) -> None:
    ts = "1700000600.000100"
    with running(settings, embed_model) as client:
        post_event(
            client, message("What do AI engineers earn in Seattle?", ts, channel=DM, channel_type="im"), "Ev0020"
        )
        slack_api.wait_for("chat.postMessage", 1)
        # Written in a thread of the DM (here under the person's own question): the answer stays in that thread.
        in_thread = message("And in Austin?", "1700000601.000100", channel=DM, channel_type="im", thread_ts=ts)
        post_event(client, in_thread, "Ev0021")
        answer_ts = slack_api.wait_for("chat.postMessage", 2)[0].reply["ts"]
        # "Reply in thread" on the bot's own answer: answered in that thread, going on from the exchange.
        under_answer = message(
            "And in Denver?", "1700000602.000100", channel=DM, channel_type="im", thread_ts=answer_ts
        )
        post_event(client, under_answer, "Ev0022")
    in_dm, threaded, under = (c.params for c in slack_api.accepted("chat.postMessage"))
    assert in_dm["channel"] == DM and "thread_ts" not in in_dm  # not a new thread under every message
    assert SEATTLE in section_texts(blocks_of(in_dm))
    assert threaded["channel"] == DM and threaded["thread_ts"] == ts
    assert AUSTIN in section_texts(blocks_of(threaded))  # read with the thread's earlier question
    assert under["channel"] == DM and under["thread_ts"] == answer_ts
    assert DENVER in section_texts(blocks_of(under))


SENIOR_RED_FLAGS = "Strong ML research background but no production system ownership"
ENTRY_RED_FLAGS = "No production AI project exposure"


def test_a_new_direct_message_goes_on_from_the_recent_exchange_in_that_dm(
    settings: Settings, embed_model: BaseEmbedding, slack_api: FakeSlackAPI
) -> None:
    with running(settings, embed_model) as client:
        asked = message(
            "What are the red flags for senior engineers?", "1700002000.000100", channel=DM, channel_type="im"
        )
        post_event(client, asked, "Ev0100")
        slack_api.wait_for("chat.postMessage", 1)
        # A follow-up written as a new message, not as a reply in the answer's thread: Slack's DM habit.
        post_event(client, message("and for juniors?", "1700002001.000100", channel=DM, channel_type="im"), "Ev0101")
        slack_api.wait_for("chat.postMessage", 2)
        # The same words in someone else's DM with the bot have no earlier exchange to go on from.
        alone = message("and for juniors?", "1700002002.000100", channel="D0OTHER01", channel_type="im")
        post_event(client, alone, "Ev0102")
    first, followup, other = (c.params for c in slack_api.accepted("chat.postMessage"))
    assert SENIOR_RED_FLAGS in section_texts(blocks_of(first))
    assert context_texts(blocks_of(first))[0].startswith("[1]")  # no note on a question read on its own
    assert followup["channel"] == DM and "thread_ts" not in followup
    assert ENTRY_RED_FLAGS in section_texts(blocks_of(followup))
    note = context_texts(blocks_of(followup))[0]
    assert note.startswith("_Read with your earlier question") and "red flags" in note.casefold()
    assert ENTRY_RED_FLAGS not in section_texts(blocks_of(other))
    assert not context_texts(blocks_of(other))[0].startswith("_Read with")
    store = StateStore(settings.state_path)
    assert [t.question for t in store.turns(f"slack:{DM}:1700002001.000100")] == ["and for juniors?"]


def test_the_bot_ignores_itself_other_bots_and_edits(
    settings: Settings, embed_model: BaseEmbedding, slack_api: FakeSlackAPI
) -> None:
    question = "What do AI engineers earn in Seattle?"
    ignored = [
        message(question, "1700000700.000100", channel=DM, channel_type="im", user=BOT_USER_ID, bot_id=BOT_ID),
        message(
            question, "1700000700.000200", channel=DM, channel_type="im", bot_id="B0OTHER01", subtype="bot_message"
        ),
        message(question, "1700000700.000300", channel=DM, channel_type="im", bot_id="B0OTHER01"),
        message(question, "1700000700.000400", channel=DM, channel_type="im", subtype="message_changed"),
        mention(question, "1700000700.000500") | {"bot_id": "B0OTHER01"},
    ]
    with running(settings, embed_model) as client:
        for number, event in enumerate(ignored):
            assert post_event(client, event, f"Ev003{number}").status_code == 200
    assert slack_api.calls_to("chat.postMessage") == []
    assert slack_api.calls_to("reactions.add") == []


def test_an_abstention_says_so_politely_and_names_the_closest_sections(
    settings: Settings, embed_model: BaseEmbedding, slack_api: FakeSlackAPI
) -> None:
    with running(settings, embed_model) as client:
        post_event(client, mention("What is a good recipe for banana bread?", "1700000800.000100"), "Ev0040")
    (post,) = slack_api.accepted("chat.postMessage")
    text = section_texts(blocks_of(post.params))
    assert "doesn't cover that" in text and "The closest sections are:" in text
    assert re.search(r"^• \S", text, re.MULTILINE)
    assert context_texts(blocks_of(post.params)) == []  # nothing is cited
    assert len(feedback_values(blocks_of(post.params))) == 1  # an abstention can be rated too


def test_slack_markup_is_escaped_in_the_reply(
    settings: Settings, embed_model: BaseEmbedding, slack_api: FakeSlackAPI
) -> None:
    with running(settings, embed_model) as client:
        post_event(client, mention("Which RAG frameworks should an AI engineer know?", "1700000900.000100"), "Ev0050")
    (post,) = slack_api.accepted("chat.postMessage")
    blocks = blocks_of(post.params)
    every_text = [section_texts(blocks), *context_texts(blocks)]
    assert any("AI Skills &amp; Tools" in text for text in every_text)
    for text in every_text:
        assert not re.search(r"&(?!amp;|lt;|gt;)|[<>]", text), text


def assert_eyes_came_and_went(slack_api: FakeSlackAPI, channel: str, ts: str) -> None:
    """:eyes: was added when the work started and removed only after the last reply was posted."""
    added = [
        c for c in slack_api.accepted("reactions.add") if (c.params["channel"], c.params["timestamp"]) == (channel, ts)
    ]
    removed = slack_api.accepted("reactions.remove")
    assert [(c.params["channel"], c.params["timestamp"], c.params["name"]) for c in removed] == [(channel, ts, "eyes")]
    posts = slack_api.accepted("chat.postMessage")
    assert len(added) == 1 and posts
    assert added[0].at <= posts[0].at and posts[-1].at <= removed[0].at
    assert slack_api.calls.index(removed[0]) > slack_api.calls.index(posts[-1])
    assert slack_api.reactions_on(channel, ts) == set()


@pytest.mark.parametrize(
    ("event", "reply_says"),
    [
        (mention("What do AI engineers earn in Seattle?", "1700000950.000100"), SEATTLE),
        (message("What do AI engineers earn in Seattle?", "1700000950.000100", channel=DM, channel_type="im"), SEATTLE),
        (mention("What is a good recipe for banana bread?", "1700000950.000100"), "doesn't cover that"),
        (mention("", "1700000950.000100"), "Ask me about the AI Engineer hiring guide"),
        (mention("salary " * 400, "1700000950.000100"), "I can't answer that as asked"),
    ],
    ids=["answer", "answer-in-a-dm", "abstention", "usage", "invalid-question"],
)
def test_the_eyes_are_taken_back_once_the_reply_is_posted(
    settings: Settings, embed_model: BaseEmbedding, slack_api: FakeSlackAPI, event: dict[str, Any], reply_says: str
) -> None:
    with running(settings, embed_model) as client:
        post_event(client, event, "Ev0055")
    (post,) = slack_api.accepted("chat.postMessage")
    assert reply_says in section_texts(blocks_of(post.params))
    assert_eyes_came_and_went(slack_api, event["channel"], event["ts"])


def test_the_eyes_are_taken_back_after_an_apology_too(
    tmp_path: Path, built_settings: Settings, embed_model: BaseEmbedding, slack_api: FakeSlackAPI
) -> None:
    # No index where the settings point: every question fails with IndexMissing.
    settings = slack_settings(tmp_path, built_settings, slack_api, RAG_INDEX_DIR=tmp_path / "never-built")
    ts = "1700000960.000100"
    with running(settings, embed_model) as client:
        post_event(client, mention("What do AI engineers earn in Seattle?", ts), "Ev0056")
    (post,) = slack_api.accepted("chat.postMessage")
    assert "can't reach the guide right now" in section_texts(blocks_of(post.params))
    assert_eyes_came_and_went(slack_api, CHANNEL, ts)


# -- delivery rules ------------------------------------------------------------------------------------


class GatedService(QAService):
    """Answers only once the test opens the gate: answering slowed on purpose."""

    def __init__(self, settings: Settings, embed_model: BaseEmbedding) -> None:
        super().__init__(settings, embed_model=embed_model)
        self.started = threading.Event()
        self.gate = threading.Event()

    def ask(
        self, question: str, top_k: int | None = None, history: Sequence[str] = (), source: str | None = None
    ) -> Answer:
        self.started.set()
        assert self.gate.wait(60), "the test never opened the gate"
        return super().ask(question, top_k, history, source)


def test_the_ack_and_the_eyes_come_before_the_answer(
    settings: Settings, embed_model: BaseEmbedding, slack_api: FakeSlackAPI
) -> None:
    service = GatedService(settings, embed_model)
    try:
        with running(settings, embed_model, service) as client:
            response = post_event(
                client, mention("What do AI engineers earn in Seattle?", "1700001000.000100"), "Ev0060"
            )
            # The HTTP response (the ack) is back while the answer cannot possibly be ready.
            assert response.status_code == 200
            assert not service.gate.is_set()
            assert service.started.wait(30)
            slack_api.wait_for("reactions.add")
            assert slack_api.calls_to("chat.postMessage") == []
            service.gate.set()
            slack_api.wait_for("chat.postMessage")
    finally:
        service.gate.set()


def test_a_rate_limited_reply_waits_for_retry_after_and_is_delivered(
    settings: Settings, embed_model: BaseEmbedding, slack_api: FakeSlackAPI
) -> None:
    slack_api.rate_limit_once("chat.postMessage", retry_after=1)
    with running(settings, embed_model) as client:
        post_event(client, mention("What do AI engineers earn in Seattle?", "1700001100.000100"), "Ev0070")
    attempts = [c for c in slack_api.calls if c.method == "chat.postMessage"]
    assert [(c.status, c.ok) for c in attempts] == [(429, False), (200, True)]
    assert attempts[1].at - attempts[0].at >= 1.0  # Retry-After was waited out, not ignored
    assert SEATTLE in section_texts(blocks_of(attempts[1].params))


# -- feedback and the slash command -------------------------------------------------------------------


def test_one_vote_per_person_the_latest_wins_and_the_buttons_stay_for_everyone(
    settings: Settings, embed_model: BaseEmbedding, slack_api: FakeSlackAPI
) -> None:
    with running(settings, embed_model) as client:
        post_event(client, mention("What do AI engineers earn in Seattle?", "1700001200.000100"), "Ev0080")
        posted = slack_api.wait_for("chat.postMessage")[0].reply
        (query_id,) = feedback_values(posted["message"]["blocks"])
        hook = slack_api.hook_url("click")
        for action_id in ("feedback_up", "feedback_down"):  # the same person changes their mind
            assert post_click(client, action_id, query_id, hook, posted).status_code == 200
            slack_api.wait_for("response_url:click", 1 + (action_id == "feedback_down"))
        store = StateStore(settings.state_path)
        assert store.rows("SELECT query_id, rating, source FROM feedback") == [(query_id, "down", "slack")]
        report = build_report(store, days=1)["feedback"]
        assert (report["up"], report["down"], report["rated_queries"], report["down_share_of_rated"]) == (0, 1, 1, 1.0)
        # A second person's vote is a vote of its own.
        assert post_click(client, "feedback_up", query_id, hook, posted, user="UHUMAN002").status_code == 200
        slack_api.wait_for("response_url:click", 3)
    assert sorted(store.rows("SELECT rating FROM feedback")) == [("down",), ("up",)]
    report = build_report(store, days=1)["feedback"]
    assert (report["up"], report["down"], report["rated_queries"]) == (1, 1, 1)
    # The shared message is not edited: every reader keeps the buttons. Each voter is thanked privately.
    assert slack_api.calls_to("chat.update") == []
    thanks = [c.params for c in slack_api.accepted("response_url:click")]
    assert [(t["response_type"], t["replace_original"]) for t in thanks] == [("ephemeral", False)] * 3
    assert [t["text"][0] for t in thanks] == ["👍", "👎", "👍"]
    assert all("change your vote" in t["text"] for t in thanks)


def test_the_guide_command_answers_privately_and_its_buttons_work(
    settings: Settings, embed_model: BaseEmbedding, slack_api: FakeSlackAPI
) -> None:
    with running(settings, embed_model) as client:
        ack = post_command(client, "What do AI engineers earn in Seattle?", slack_api.hook_url("command"))
        assert ack.status_code == 200
        assert ack.json()["response_type"] == "ephemeral" and "Looking up" in ack.json()["text"]
        usage = post_command(client, "   ", slack_api.hook_url("empty"))
        assert "/guide" in usage.json()["text"]
        (answer,) = slack_api.wait_for("response_url:command")
        (query_id,) = feedback_values(answer.params["blocks"])
        assert post_click(client, "feedback_up", query_id, slack_api.hook_url("ephemeral-click")).status_code == 200
    assert answer.params["response_type"] == "ephemeral"
    assert SEATTLE in section_texts(answer.params["blocks"])
    assert slack_api.calls_to("response_url:empty") == []
    (thanks,) = slack_api.accepted("response_url:ephemeral-click")
    assert thanks.params["text"].startswith("👍 Thanks")
    store = StateStore(settings.state_path)
    assert store.rows("SELECT query_id, rating, source FROM feedback") == [(query_id, "up", "slack")]


# -- Socket Mode ---------------------------------------------------------------------------------------


def test_socket_mode_feeds_the_same_listeners(
    tmp_path: Path, built_settings: Settings, embed_model: BaseEmbedding, slack_api: FakeSlackAPI
) -> None:
    settings = slack_settings(tmp_path, built_settings, slack_api, SLACK_APP_TOKEN=APP_TOKEN, SLACK_SIGNING_SECRET=None)
    event = json.loads(event_body(mention("What do AI engineers earn in Seattle?", "1700001300.000100"), "Ev0090"))
    with running(settings, embed_model) as client:
        slack_api.wait_for_socket()
        slack_api.push("events_api", event, "envelope-1")
        assert slack_api.wait_for_ack("envelope-1") == {"envelope_id": "envelope-1"}
        slack_api.push("events_api", event, "envelope-2", retry_attempt=1)  # Slack's retry: same event_id
        slack_api.wait_for_ack("envelope-2")
        slack_api.push(
            "slash_commands", command_fields("Is a PhD required?", slack_api.hook_url("socket")), "envelope-3"
        )
        command_ack = slack_api.wait_for_ack("envelope-3")
        # Without a signing secret the HTTP endpoint stays shut, and says why.
        refused = client.post("/slack/events", content="{}", headers={"Content-Type": "application/json"})
        assert refused.status_code == 503 and "Socket Mode" in refused.json()["error"]["message"]
    assert command_ack["payload"]["response_type"] == "ephemeral"
    assert "Looking up" in command_ack["payload"]["text"]
    (post,) = slack_api.accepted("chat.postMessage")
    assert post.params["thread_ts"] == "1700001300.000100"
    assert SEATTLE in section_texts(blocks_of(post.params))
    (answer,) = slack_api.accepted("response_url:socket")
    assert context_texts(answer.params["blocks"])  # a cited answer


def test_a_vote_on_an_answer_no_longer_on_record_is_not_stored(
    settings: Settings, embed_model: BaseEmbedding, slack_api: FakeSlackAPI
) -> None:
    posted = {
        "channel": CHANNEL,
        "ts": "1700001400.000200",
        "message": {"type": "message", "text": "old", "ts": "1700001400.000200", "blocks": []},
    }
    with running(settings, embed_model) as client:
        assert post_click(client, "feedback_up", "0" * 32, slack_api.hook_url("old"), posted).status_code == 200
    assert StateStore(settings.state_path).rows("SELECT COUNT(*) FROM feedback") == [(0,)]
    assert slack_api.calls_to("chat.update") == []
    (note,) = slack_api.accepted("response_url:old")
    assert "no longer on record" in note.params["text"]
