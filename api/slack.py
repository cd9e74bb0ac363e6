"""Where Slack comes in: `POST /slack/events` (Events API, `/guide`, interactive payloads — one Request
URL) and, when `SLACK_APP_TOKEN` is set, Socket Mode. Both feed the same bolt app (`api/slack_bot.py`).

The router carries its own lifespan, which FastAPI runs inside the app's: the bot is built once the
service and state store exist, and on shutdown it lets answers in flight finish.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qs

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_sdk.signature import SignatureVerifier

from api.errors import error_response
from api.slack_bot import SlackBot
from rag.settings import Settings

log = logging.getLogger(__name__)


def not_configured_reason(settings: Settings) -> str | None:
    """Why `/slack/events` cannot serve, or None when it can."""
    if not settings.slack_bot_token and not settings.slack_signing_secret:
        return "Slack is not configured: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (see docs/slack.md)"
    if not settings.slack_bot_token:
        return "Slack is not configured: SLACK_BOT_TOKEN is missing (see docs/slack.md)"
    if not settings.slack_signing_secret:
        if settings.slack_app_token:
            return "Slack runs in Socket Mode here; this HTTP endpoint also needs SLACK_SIGNING_SECRET"
        return "Slack is not configured: SLACK_SIGNING_SECRET is missing (see docs/slack.md)"
    return None


def signature_is_valid(verifier: SignatureVerifier, body: bytes, request: Request) -> bool:
    """Slack's v0 signature over the raw body, with a timestamp at most five minutes off."""
    try:
        return verifier.is_valid_request(body, dict(request.headers))
    except (ValueError, UnicodeDecodeError):  # a timestamp that is not a number, a body that is not UTF-8
        return False


def body_problem(body: bytes, content_type: str) -> str | None:
    """Why a signed body is not something Slack sends (bolt would fail on it with a 500), or None."""
    try:
        text = body.decode("utf-8")
        if content_type.startswith("application/json"):
            parsed: object = json.loads(text)
        else:
            form = parse_qs(text)
            parsed = json.loads(form["payload"][0]) if "payload" in form else form
    except (UnicodeDecodeError, ValueError):
        return "the body is neither a JSON object nor a form Slack would send"
    return None if isinstance(parsed, dict) else "the body must be a JSON object"


def keep_connecting(handler: SocketModeHandler, stopping: threading.Event) -> None:
    """Open the Socket Mode connection, retrying with growing pauses until it opens or the app stops;
    once open, slack_sdk's client reconnects on its own."""
    pause = 1.0
    while not stopping.is_set():
        try:
            handler.connect()
            log.info("slack: connected in Socket Mode")
            return
        except Exception as exc:
            log.error("slack: Socket Mode could not connect (next try in %.0fs): %s", pause, exc)
        stopping.wait(pause)
        pause = min(pause * 2, 60.0)


@asynccontextmanager
async def slack_lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    bot = SlackBot(settings, app.state.service, app.state.store) if settings.slack_bot_token else None
    app.state.slack = bot
    app.state.slack_verifier = (
        SignatureVerifier(settings.slack_signing_secret) if settings.slack_signing_secret else None
    )
    if bot is None:
        log.info("slack: disabled (SLACK_BOT_TOKEN is not set)")
    socket_mode: SocketModeHandler | None = None
    stopping = threading.Event()
    if bot is not None and settings.slack_app_token:
        socket_mode = SocketModeHandler(bot.app, settings.slack_app_token)
        # In the background: the HTTP API serves at once, whether or not Slack is reachable.
        connecting = threading.Thread(target=keep_connecting, args=(socket_mode, stopping), daemon=True)
        connecting.start()
    try:
        yield
    finally:
        stopping.set()
        if socket_mode is not None:
            await run_in_threadpool(connecting.join, 10)  # a connect in progress ends before the close
            await run_in_threadpool(socket_mode.close)
        if bot is not None:
            await run_in_threadpool(bot.close)


router = APIRouter(lifespan=slack_lifespan)


@router.post("/slack/events", include_in_schema=False)
async def slack_events(request: Request) -> Response:
    """Slack's single Request URL: events, slash commands and button clicks."""
    bot: SlackBot | None = getattr(request.app.state, "slack", None)
    verifier: SignatureVerifier | None = getattr(request.app.state, "slack_verifier", None)
    reason = not_configured_reason(request.app.state.settings)
    if bot is None or verifier is None or reason:
        return error_response(503, "slack_not_configured", reason or "Slack is not configured")
    body = await request.body()
    if not signature_is_valid(verifier, body, request):
        return error_response(
            401, "invalid_signature", "the Slack signature is missing, wrong or more than 5 minutes old"
        )
    problem = body_problem(body, request.headers.get("content-type", ""))
    if problem:
        return error_response(400, "invalid_request", problem)
    # bolt's dispatch blocks until the listener acknowledges; keep it off the event loop.
    bolt_response = await run_in_threadpool(bot.app.dispatch, to_bolt_request(request, body))
    return to_starlette_response(bolt_response)
