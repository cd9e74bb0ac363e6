"""The Slack bot's behaviour: a slack-bolt app that answers mentions, direct messages, follow-ups in
threads it has answered and `/guide`, and records 👍/👎 feedback. Transport (HTTP or Socket Mode) is
`api/slack.py`'s concern; these listeners serve both.

Slack's delivery rules shape the code: every listener acknowledges at once and hands the slow part
(retrieval, Web API calls that may wait out a 429) to worker threads; each message is answered once,
recorded in the state store that every worker process shares.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltResponse, Respond
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from api.slack_blocks import (
    FEEDBACK_RATINGS,
    THANKS,
    Message,
    answer_messages,
    notice_messages,
    plain_question,
)
from rag.errors import InvalidQuestion, RagError
from rag.operations.conversation import ask_in_conversation
from rag.operations.state_contract import SharedState
from rag.service import QAService
from rag.settings import Settings

log = logging.getLogger(__name__)

USAGE = "Ask me about the AI Engineer hiring guide, e.g. `/guide What do AI engineers earn in Seattle?`"
# Message subtypes that are a person writing; the rest are edits, deletions, joins, bots…
ANSWERED_SUBTYPES = {None, "thread_broadcast", "file_share"}
RATE_LIMIT_RETRIES = 3
SEEN_WAIT_SECONDS = 5.0
# A new top-level direct message within this long of the last exchange in the same DM goes on from it, as a
# reply in a thread does: people write "and for juniors?" as a new message in a DM, not as a thread reply.
DM_CONVERSATION_SECONDS = 10 * 60
FORGOTTEN_ANSWER = "Sorry — that answer is no longer on record, so the vote could not be saved."


def web_client(settings: Settings) -> WebClient:
    """The Web API client: `SLACK_API_URL` as base (tests point it at a fake); waits out 429s, then retries."""
    base_url = settings.slack_api_url if settings.slack_api_url.endswith("/") else settings.slack_api_url + "/"
    client = WebClient(token=settings.slack_bot_token, base_url=base_url, timeout=15)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES))
    return client


def conversation_id(channel: str, thread_ts: str) -> str:
    return f"slack:{channel}:{thread_ts}"


def is_from_a_person(event: dict[str, Any], bot_user_id: str | None) -> bool:
    """False for the bot's own messages, other bots, and message edits, deletions and the like."""
    if event.get("bot_id") or event.get("subtype") not in ANSWERED_SUBTYPES:
        return False
    user = event.get("user")
    return bool(user) and user != bot_user_id


@contextmanager
def without_token_notice() -> Iterator[None]:
    """slack-bolt reads SLACK_BOT_TOKEN from the environment even when it is given a client, and then warns
    that the token "will be unused": it is the client's own token, so the warning is only noise at start-up."""
    notice = warning_client_prioritized_and_token_skipped()

    def keep(record: logging.LogRecord) -> bool:
        return record.getMessage() != notice

    bolt_log = logging.getLogger("slack_bolt.App")
    bolt_log.addFilter(keep)
    try:
        yield
    finally:
        bolt_log.removeFilter(keep)


def describe_request(body: dict[str, Any]) -> str:
    """What a request from Slack is, in a few words for the log: its type, event type, action ids."""
    parts = [str(body.get("type") or body.get("command") or "no type")]
    event = body.get("event")
    if isinstance(event, dict):
        parts.append(f"event {event.get('type')}")
    actions = body.get("actions")
    if isinstance(actions, list):
        parts.extend(f"action {a.get('action_id')}" for a in actions if isinstance(a, dict))
    if body.get("callback_id"):
        parts.append(f"callback {body['callback_id']}")
    return ", ".join(parts)


class SlackBot:
    """The bolt app and its listeners; `close()` lets answers in flight finish."""

    def __init__(self, settings: Settings, service: QAService, store: SharedState) -> None:
        self.service = service
        self.store = store
        self.client = web_client(settings)
        # Three pools so that an ack never queues behind slow work: bolt's listeners only acknowledge and
        # hand over; reactions and feedback updates are quick; answers take a retrieval each.
        self.listeners = ThreadPoolExecutor(max_workers=8, thread_name_prefix="slack-listener")
        self.quick = ThreadPoolExecutor(max_workers=4, thread_name_prefix="slack-quick")
        self.answers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="slack-answer")
        with without_token_notice():
            self.app = App(
                client=self.client,
                # Explicit values: bolt would otherwise read SLACK_* from the environment itself.
                signing_secret=settings.slack_signing_secret or "",
                request_verification_enabled=bool(settings.slack_signing_secret),
                # auth.test runs on the first event rather than at start-up: the app starts without reaching Slack.
                token_verification_enabled=False,
                listener_executor=self.listeners,
                # What no listener handles reaches on_error, which acknowledges it (bolt would answer 404).
                raise_error_for_unhandled_request=True,
            )
        self.app.error(self.on_error)
        self.app.event("app_mention")(self.on_mention)
        self.app.event("message")(self.on_message)
        self.app.command("/guide")(self.on_command)
        self.app.action(re.compile(r"^feedback_(up|down)$"))(self.on_feedback)

    def on_error(self, error: Exception, body: dict[str, Any]) -> BoltResponse | None:
        """A request no listener handles (an event the app is subscribed to but ignores, an unknown button, a
        body of nothing) is acknowledged with 200 and logged: Slack retries a non-2xx and shows the user a
        failure. A listener that failed keeps bolt's 500."""
        if isinstance(error, BoltUnhandledRequestError):
            log.info("slack: acknowledged a request no listener handles (%s)", describe_request(body))
            return BoltResponse(status=200, body="")
        log.error("slack: a listener failed: %s", error, exc_info=error)
        return None

    def close(self) -> None:
        for pool in (self.listeners, self.quick, self.answers):
            pool.shutdown(wait=True)

    # -- listeners: acknowledge (bolt does it for events), decide, hand over ---------------------
    def on_mention(self, body: dict[str, Any], event: dict[str, Any], context: BoltContext) -> None:
        self.take(body, event, context.bot_user_id)

    def on_message(self, body: dict[str, Any], event: dict[str, Any], context: BoltContext) -> None:
        # In a channel only a reply in a thread the bot has answered is for us; mentions come as app_mention.
        if event.get("channel_type") == "im" or self.is_followup(event):
            self.take(body, event, context.bot_user_id)

    def is_followup(self, event: dict[str, Any]) -> bool:
        thread_ts = event.get("thread_ts")
        if not thread_ts:
            return False
        return bool(self.store.turns(conversation_id(event.get("channel", ""), thread_ts)))

    def take(self, body: dict[str, Any], event: dict[str, Any], bot_user_id: str | None) -> None:
        if not is_from_a_person(event, bot_user_id):
            return
        # One claim per message, not per delivery: Slack's retries repeat the event_id, and a mention
        # in an answered thread arrives twice (app_mention and message) with different event ids.
        if not self.store.claim_event(f"message:{event['channel']}:{event['ts']}"):
            log.info("slack: event %s is a message already answered", body.get("event_id"))
            return
        seen = self.quick.submit(self.guarded(self.show_seen, event["channel"], event["ts"]))
        self.answers.submit(self.guarded(self.answer_message, event, bot_user_id, seen))

    def on_command(self, ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        question = plain_question(command.get("text", ""))
        if not question:
            ack(response_type="ephemeral", text=USAGE)
            return
        ack(response_type="ephemeral", text=f"Looking up “{question}” in the guide…")
        self.answers.submit(self.guarded(self.answer_command, question, respond))

    def on_feedback(self, ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        self.quick.submit(self.guarded(self.record_feedback, body, action, respond))

    # -- the work after the ack ------------------------------------------------------------------
    def guarded(self, work: Callable[..., None], *args: Any) -> Callable[[], None]:
        def run() -> None:
            try:
                work(*args)
            except Exception:  # a worker thread has no caller to raise to
                log.exception("slack: %s failed", work.__name__)

        return run

    def show_seen(self, channel: str, ts: str) -> None:
        try:
            self.client.reactions_add(channel=channel, timestamp=ts, name="eyes")
        except SlackApiError as exc:  # already_reacted, missing scope: the answer matters more
            log.warning("slack: cannot add :eyes: (%s)", exc.response.get("error"))

    def clear_seen(self, channel: str, ts: str, seen: Future[None]) -> None:
        """Take the :eyes: back once the work is over, whatever the reply was: left on, it says "still working"."""
        with suppress(TimeoutError):  # the add must land first, or the removal finds nothing to remove
            seen.result(timeout=SEEN_WAIT_SECONDS)
        try:
            self.client.reactions_remove(channel=channel, timestamp=ts, name="eyes")
        except SlackApiError as exc:  # no_reaction (the add failed), missing scope: nothing more to do
            log.warning("slack: cannot remove :eyes: (%s)", exc.response.get("error"))

    def answer_message(self, event: dict[str, Any], bot_user_id: str | None, seen: Future[None]) -> None:
        """Post the reply, then take the :eyes: back: after an answer, a decline or an apology alike."""
        try:
            self.post_reply(event, bot_user_id, seen)
        finally:
            self.clear_seen(event["channel"], event["ts"], seen)

    def post_reply(self, event: dict[str, Any], bot_user_id: str | None, seen: Future[None]) -> None:
        """The reply to a mention or a message: in its thread, except a direct message written outside a
        thread, which is answered in the DM itself (a DM is already a private conversation)."""
        channel = event["channel"]
        in_dm = event.get("channel_type") == "im"
        thread_ts = event.get("thread_ts") or event["ts"]
        conversation = conversation_id(channel, thread_ts)
        question = plain_question(event.get("text", ""), bot_user_id)
        carried_from = None
        # In a DM a new message (or the first reply in a thread under one of the bot's answers) goes on from
        # the latest exchange there, if it is recent.
        if in_dm and not self.store.turns(conversation):
            carried_from = self.store.latest_conversation(conversation_id(channel, ""), DM_CONVERSATION_SECONDS)
        messages = self.reply(question, conversation, carried_from)
        with suppress(TimeoutError):  # the :eyes: goes first, unless Slack keeps it waiting
            seen.result(timeout=SEEN_WAIT_SECONDS)
        where = {} if in_dm and not event.get("thread_ts") else {"thread_ts": thread_ts}
        for message in messages:
            self.client.chat_postMessage(channel=channel, **where, **message)

    def answer_command(self, question: str, respond: Respond) -> None:
        for message in self.reply(question, None):
            respond(response_type="ephemeral", replace_original=False, **message)

    def reply(self, question: str, conversation: str | None, carried_from: str | None = None) -> list[Message]:
        if not question:
            return notice_messages(USAGE)
        try:
            answer = ask_in_conversation(
                self.service,
                self.store,
                question,
                conversation_id=conversation,
                channel="slack",
                carried_from=carried_from,
            )
        except InvalidQuestion as exc:
            return notice_messages(f"I can't answer that as asked: {exc}.")
        except RagError as exc:
            log.warning("slack: cannot answer: %s", exc)
            return notice_messages("Sorry — I can't reach the guide right now. Please try again in a minute.")
        # A follow-up in a new DM message: say how it was read, since nothing on screen ties it to the last one.
        read_with_earlier = carried_from and answer.resolved_question.casefold() != answer.question.casefold()
        return answer_messages(answer, read_as=answer.resolved_question if read_with_earlier else None)

    def record_feedback(self, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        """One vote per person per answer, the latest standing. The message is left as it is, buttons and
        all: in a channel the answer is everyone's, and one person's vote must not take the buttons from the
        others or show them a verdict. The voter alone gets a thank-you (ephemeral, as Slack confirms a
        personal action in a shared message), which says a click on the other button changes the vote."""
        rating = FEEDBACK_RATINGS[action["action_id"]]
        query_id = action.get("value", "")
        if not self.store.query_exists(query_id):
            log.warning("slack: feedback for an unknown query %r", query_id)
            respond(response_type="ephemeral", replace_original=False, text=FORGOTTEN_ANSWER)
            return
        user = (body.get("user") or {}).get("id")
        self.store.record_feedback(query_id, rating, None, source="slack", voter=f"slack:{user}" if user else None)
        respond(response_type="ephemeral", replace_original=False, text=THANKS[rating])
