"""The chat page at `/` in headless Chromium (Debian's `chromium`, driven by Playwright): ask, watch
the answer arrive, open a citation, follow up, see an abstention, use it from the keyboard and on a
phone-sized screen. Screenshots go to a temporary folder; with RAG_SCREENSHOT_DIR set (for example to
`evals/reports`) they are written there, so a test run does not rewrite the committed pictures."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path

import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding
from playwright.sync_api import Browser, Locator, Page, Route, expect, sync_playwright

from api.app import create_app
from rag.service import QAService
from rag.settings import Settings
from tests.serving import serve

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ANSWER_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("RAG_SCREENSHOT_DIR")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def page_url(
    built_settings: Settings, embed_model: BaseEmbedding, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    settings = built_settings.model_copy(update={"state_path": tmp_path_factory.mktemp("page") / "rag.sqlite3"})
    with serve(create_app(settings, QAService(settings, embed_model=embed_model))) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed (apt-get install chromium); the browser test needs it")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def open_page(browser: Browser, url: str, **context: object) -> tuple[Page, list[str]]:
    """A fresh page at `url` and the list its console errors (CSP violations included) collect into."""
    page = browser.new_context(**context).new_page()  # type: ignore[arg-type]
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(url)
    return page, problems


def ask(page: Page, question: str) -> int:
    """Type `question`, press Enter, wait until its answer is complete; returns the turn's number (1-based)."""
    turn = page.locator(".turn").count() + 1
    page.locator("#question").fill(question)
    page.locator("#question").press("Enter")
    answer = page.locator(f".turn:nth-child({turn}) .answer")
    expect(answer).to_have_attribute("data-state", "done", timeout=ANSWER_TIMEOUT_MS)
    return turn


def test_ask_read_open_a_citation_follow_up_and_abstain(
    browser: Browser, page_url: str, guide_text: str, screenshots: Path
) -> None:
    page, problems = open_page(browser, page_url, viewport={"width": 1100, "height": 1000})
    expect(page).to_have_title("AI Engineer Hiring Guide — questions answered with citations")
    expect(page.locator("#question")).to_be_focused()

    # Record every length the answer's text passes through, to see it arrive piece by piece.
    page.evaluate(
        """() => {
            window.answerLengths = [];
            new MutationObserver(() => {
                const text = document.querySelector('.turn:last-child .answer-text');
                if (text) window.answerLengths.push(text.textContent.length);
            }).observe(document.getElementById('turns'), {subtree: true, childList: true, characterData: true});
        }"""
    )
    first = ask(page, "What do AI engineers earn in Austin?")
    answer = page.locator(f".turn:nth-child({first}) .answer")
    lengths = page.evaluate("window.answerLengths")
    assert len(set(lengths)) > 10 and lengths[-1] == max(lengths), "the answer did not stream in"
    expect(answer).to_have_attribute("aria-busy", "false")
    expect(page.locator("#turns")).to_have_attribute("aria-live", "polite")
    expect(answer.locator(".answer-line").first).to_contain_text("Austin $135,000 - $185,000")
    expect(answer).not_to_have_class("answer abstained")
    expect(page.locator("#question")).to_be_focused()  # ready for the follow-up

    # [1] is a button; it opens the quote with its section.
    cite = answer.locator("button.cite", has_text="[1]").first
    expect(cite).to_have_attribute("aria-expanded", "false")
    cite.click()
    expect(cite).to_have_attribute("aria-expanded", "true")
    note = answer.locator(".note").first
    expect(note).to_be_visible()
    expect(note.locator(".note-section")).to_have_text("[1] Compensation Guide > Regional Salary Data")
    quote = note.locator(".note-quote").inner_text()
    assert quote == "Austin $135,000 - $185,000 Moderate (1.1x national average)"
    assert quote in guide_text
    # Escape closes it and gives the focus back to its marker.
    page.keyboard.press("Escape")
    expect(answer.locator(".note")).to_have_count(0)
    expect(cite).to_be_focused()
    expect(cite).to_have_attribute("aria-expanded", "false")
    # ...and the keyboard alone opens it again.
    page.keyboard.press("Enter")
    expect(answer.locator(".note")).to_have_count(1)

    # A follow-up in the same conversation lands on the Seattle row.
    second = ask(page, "And in Seattle?")
    follow_up = page.locator(f".turn:nth-child({second}) .answer")
    expect(follow_up.locator(".answer-line").first).to_contain_text("Seattle $160,000 - $220,000")
    follow_up.locator("button.cite", has_text="[1]").first.click()
    expect(follow_up.locator(".note-quote").first).to_have_text(
        "Seattle $160,000 - $220,000 High (1.4x national average)"
    )

    # Off topic: shown as an abstention, with no citation markers.
    third = ask(page, "What is a good recipe for banana bread?")
    abstained = page.locator(f".turn:nth-child({third}) .answer")
    expect(abstained).to_have_class("answer abstained")
    expect(abstained.locator(".answer-label")).to_have_text("Not covered by the guide")
    expect(abstained).to_contain_text("The guide does not cover that.")
    expect(abstained.locator("button.cite")).to_have_count(0)

    # The whole conversation in one picture, with the question box where it sits: at the bottom.
    page.set_viewport_size({"width": 1100, "height": page.evaluate("document.documentElement.scrollHeight")})
    page.locator("#question").blur()
    page.screenshot(path=str(screenshots / "chat-page.png"))
    assert problems == []


def test_a_list_answer_is_drawn_as_a_list_with_a_citation_per_item(
    browser: Browser, page_url: str, guide_text: str, screenshots: Path
) -> None:
    page, problems = open_page(browser, page_url, viewport={"width": 1100, "height": 1000})
    turn = ask(page, "What are the key responsibilities of an AI engineer?")
    answer = page.locator(f".turn:nth-child({turn}) .answer")
    expect(answer.locator(".answer-heading")).to_have_text("Key Responsibilities:")
    items = answer.locator("ul.answer-list > li.answer-item")
    expect(items).to_have_count(10)
    for i in range(10):
        expect(items.nth(i).locator("button.cite")).to_have_text(f"[{i + 1}]")
    expect(items.first).to_contain_text("Design and develop machine learning models")
    # An item's marker opens its own quote, the guide's exact words.
    items.nth(2).locator("button.cite").click()
    quote = answer.locator(".note-quote").first.inner_text()
    assert quote.startswith("Implement data collection") and quote in guide_text
    page.set_viewport_size({"width": 1100, "height": page.evaluate("document.documentElement.scrollHeight")})
    page.locator("#question").blur()
    page.screenshot(path=str(screenshots / "chat-page-list.png"))
    assert problems == []


@pytest.mark.parametrize(
    "screen", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}], ids=["desktop", "phone"]
)
def test_an_opened_note_is_never_under_the_composer(browser: Browser, page_url: str, screen: dict[str, int]) -> None:
    page, problems = open_page(browser, page_url, viewport=screen)
    ask(page, "What do AI engineers earn in Austin?")
    ask(page, "And in Seattle?")
    last = ask(page, "Austin or Denver: which pays more?")  # two parts, two notes
    answer = page.locator(f".turn:nth-child({last}) .answer")
    composer_top = page.locator(".composer").bounding_box()["y"]  # type: ignore[index]
    for n in (1, 2):
        answer.locator("button.cite", has_text=f"[{n}]").first.click()
        note = page.locator(":focus")
        expect(note).to_have_class("note")
        page.wait_for_timeout(100)  # the scroll is instant; let layout settle
        box = note.bounding_box()
        assert box is not None and box["y"] >= 0
        assert box["y"] + box["height"] <= composer_top + 1, f"note [{n}] ends under the composer"
    assert problems == []


def test_a_marker_previews_its_quote_on_hover_and_focus(browser: Browser, page_url: str, guide_text: str) -> None:
    page, problems = open_page(browser, page_url, viewport={"width": 1100, "height": 900})
    turn = ask(page, "What do AI engineers earn in Austin?")
    cite = page.locator(f".turn:nth-child({turn}) .answer button.cite").first
    preview = page.locator(f"#{cite.get_attribute('aria-describedby')}")
    expect(preview).to_be_hidden()
    cite.hover()
    expect(preview).to_be_visible()
    expect(preview).to_have_attribute("role", "tooltip")
    quote = preview.locator(".cite-preview-quote").inner_text()
    assert quote == "Austin $135,000 - $185,000 Moderate (1.1x national average)" and quote in guide_text
    expect(preview.locator(".cite-preview-section")).to_have_text("Compensation Guide > Regional Salary Data")
    page.mouse.move(0, 0)
    expect(preview).to_be_hidden()
    # The keyboard alone: focus shows it, Escape hides it, and the marker keeps the focus.
    cite.focus()
    expect(preview).to_be_visible()
    page.keyboard.press("Escape")
    expect(preview).to_be_hidden()
    expect(cite).to_be_focused()
    assert problems == []


def test_an_answer_can_be_rated_and_the_latest_rating_shows(browser: Browser, page_url: str) -> None:
    page, problems = open_page(browser, page_url)
    turn = ask(page, "What do AI engineers earn in Austin?")
    answer = page.locator(f".turn:nth-child({turn}) .answer")
    up = answer.get_by_role("button", name="Helpful", exact=True)
    down = answer.get_by_role("button", name="Not helpful")
    expect(up).to_have_attribute("aria-pressed", "false")
    with page.expect_response("**/v1/feedback") as sent:
        up.click()
    assert sent.value.status == 200 and sent.value.json()["rating"] == "up"
    expect(up).to_have_attribute("aria-pressed", "true")
    with page.expect_response("**/v1/feedback") as sent:
        down.click()
    assert sent.value.json() == {"recorded": True, "query_id": answer.get_attribute("data-query-id"), "rating": "down"}
    expect(down).to_have_attribute("aria-pressed", "true")
    expect(up).to_have_attribute("aria-pressed", "false")
    expect(answer.locator(".feedback-note")).to_have_text("Thanks for the feedback.")
    assert problems == []


def test_text_is_never_markup_and_a_new_conversation_starts_clean(browser: Browser, page_url: str) -> None:
    page, problems = open_page(browser, page_url)
    hostile = "<img src=x onerror=\"document.title='owned'\"> <b>bold</b>"
    turn = ask(page, hostile)
    asked = page.locator(f".turn:nth-child({turn}) .question")
    expect(asked).to_have_text(hostile)
    expect(page.locator(".turns img, .turns b")).to_have_count(0)
    assert page.title() != "owned"

    ask(page, "What's the salary for an entry-level AI engineer?")
    label = page.locator("#conversation-label").inner_text()
    page.get_by_role("button", name="New conversation").click()
    expect(page.locator(".turn")).to_have_count(0)
    expect(page.locator("#welcome")).to_be_visible()
    expect(page.locator("#question")).to_be_focused()
    assert page.locator("#conversation-label").inner_text() != label
    # In the new conversation an elliptical question has no earlier subject (salary) to borrow.
    turn = ask(page, "what about seniors?")
    expect(page.locator(f".turn:nth-child({turn}) .answer .answer-line").first).not_to_contain_text(
        "$160,000 - $200,000+"
    )
    assert problems == []


def test_readable_on_a_phone(browser: Browser, page_url: str, screenshots: Path) -> None:
    page, problems = open_page(
        browser, page_url, viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page.get_by_role("button", name="What do AI engineers earn in Austin?").click()
    answer = page.locator(".turn:nth-child(1) .answer")
    expect(answer).to_have_attribute("data-state", "done", timeout=ANSWER_TIMEOUT_MS)
    answer.locator("button.cite", has_text="[1]").first.tap()
    expect(answer.locator(".note")).to_be_visible()
    # Nothing wider than the screen: no sideways scrolling, and the question box fits.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    box = page.locator("#question").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    font_size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.answer-line')).fontSize)")
    assert font_size >= 14
    page.screenshot(path=str(screenshots / "chat-page-phone.png"), full_page=True)
    assert problems == []


def test_a_protected_service_asks_for_a_key_once(
    browser: Browser, built_settings: Settings, embed_model: BaseEmbedding, tmp_path: Path
) -> None:
    settings = built_settings.model_copy(update={"state_path": tmp_path / "rag.sqlite3", "api_keys": ["s3cret"]})
    with serve(create_app(settings, QAService(settings, embed_model=embed_model))) as url:
        page, problems = open_page(browser, url)
        page.locator("#question").fill("What do AI engineers earn in Austin?")
        page.locator("#question").press("Enter")
        expect(page.locator(".turn .answer")).to_have_class("answer failed")
        expect(page.locator("#key-form")).to_be_visible()
        expect(page.locator("#api-key")).to_be_focused()

        page.locator("#api-key").fill("wrong")
        page.locator("#api-key").press("Enter")
        expect(page.locator(".turn .answer")).to_contain_text("That API key was not accepted")

        page.locator("#api-key").fill("s3cret")
        page.locator("#api-key").press("Enter")
        answer = page.locator(".turn .answer")
        expect(answer).to_have_attribute("data-state", "done", timeout=ANSWER_TIMEOUT_MS)
        expect(page.locator(".turn")).to_have_count(1)  # the refused attempt gave way to the answer
        expect(answer.locator(".answer-line").first).to_contain_text("Austin $135,000 - $185,000")
        expect(page.locator("#key-form")).to_be_hidden()
        # The key is kept for the tab: the next question needs no prompt.
        turn = ask(page, "And in Seattle?")
        expect(page.locator(f".turn:nth-child({turn}) .answer .answer-line").first).to_contain_text("Seattle")
        # The browser logs each refused request as a console error; nothing else may fail.
        assert [p for p in problems if "401" not in p] == []


# -- when asking fails ---------------------------------------------------------------------------------

AUSTIN_QUESTION = "What do AI engineers earn in Austin?"


def cut_before_done(route: Route) -> None:
    """The real answer's stream, ended (cleanly) after its deltas and before its `done` event."""
    response = route.fetch()
    body = response.body()
    assert b"event: delta" in body and b"event: done" in body
    headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "transfer-encoding")}
    route.fulfill(status=response.status, headers=headers, body=body[: body.index(b"event: done")])


FAILURES: dict[str, Callable[[Route], None]] = {
    "server-down": lambda route: route.abort("connectionrefused"),
    "429": lambda route: route.fulfill(
        status=429,
        headers={"Retry-After": "1"},
        json={"error": {"code": "rate_limited", "message": "Too many questions; try again in a second."}},
    ),
    "502": lambda route: route.fulfill(status=502, content_type="text/html", body="<h1>502 Bad Gateway</h1>"),
    "stream-ends-early": cut_before_done,
}


def expect_kept_with_a_retry(page: Page, question: str) -> Locator:
    """The failed turn: marked failed, the question back in the box, a Retry button; returns that button."""
    answer = page.locator(".turn .answer")
    expect(answer).to_have_attribute("data-state", "failed", timeout=ANSWER_TIMEOUT_MS)
    expect(answer).to_have_class("answer failed")
    expect(page.locator("#question")).to_have_value(question)
    expect(page.locator("#question")).to_be_focused()
    retry = answer.get_by_role("button", name=f"Retry: {question}")
    expect(retry).to_be_visible()
    expect(retry).to_be_enabled()
    expect(retry).to_have_text("Retry")
    return retry


def expect_the_retry_answers(page: Page, retry: Locator) -> None:
    retry.click()
    expect(page.locator(".turn")).to_have_count(1)  # the failed attempt gave way to the new one
    answer = page.locator(".turn .answer")
    expect(answer).to_have_attribute("data-state", "done", timeout=ANSWER_TIMEOUT_MS)
    expect(answer.locator(".answer-line").first).to_contain_text("Austin $135,000 - $185,000")
    expect(page.locator("#question")).to_have_value("")  # asked, so no longer waiting in the box


def page_errors(problems: list[str]) -> list[str]:
    """Console errors other than the browser's own line for each failed request, which these tests cause."""
    return [p for p in problems if not p.startswith("Failed to load resource")]


@pytest.mark.parametrize("failure", list(FAILURES))
def test_after_a_failure_the_question_stays_and_retry_asks_again(
    browser: Browser, page_url: str, failure: str, screenshots: Path
) -> None:
    page, problems = open_page(browser, page_url, viewport={"width": 900, "height": 600})
    page.route("**/v1/query/stream", FAILURES[failure], times=1)
    page.locator("#question").fill(AUSTIN_QUESTION)
    page.locator("#question").press("Enter")
    retry = expect_kept_with_a_retry(page, AUSTIN_QUESTION)
    if failure == "429":
        expect(page.locator(".turn .answer")).to_contain_text("Too many questions")
        page.screenshot(path=str(screenshots / "chat-page-retry.png"))
    expect_the_retry_answers(page, retry)
    assert page_errors(problems) == []


class CuttingProxy:
    """A loopback TCP proxy in front of the app that, once armed, drops the connection in the middle of the
    next answer stream (after its first `delta` event): what a proxy timeout or a lost network does."""

    def __init__(self, upstream: str) -> None:
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.armed = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self.accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def accept(self) -> None:
        with suppress(OSError):  # the listener was closed
            while True:
                client, _ = self.listener.accept()
                server = socket.create_connection(self.upstream)
                threading.Thread(target=self.pipe, args=(client, server, False), daemon=True).start()
                threading.Thread(target=self.pipe, args=(server, client, True), daemon=True).start()

    def pipe(self, source: socket.socket, target: socket.socket, from_app: bool) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                if from_app and self.armed.is_set() and b"event: delta" in data:
                    self.armed.clear()
                    first_delta_end = data.index(b"\n\n", data.index(b"event: delta")) + 2
                    target.sendall(data[:first_delta_end])
                    break
                target.sendall(data)
        for end in (source, target):
            with suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()

    def close(self) -> None:
        self.listener.close()


def test_a_connection_lost_mid_answer_keeps_the_question_and_retry_asks_again(browser: Browser, page_url: str) -> None:
    proxy = CuttingProxy(page_url)
    try:
        page, problems = open_page(browser, proxy.url)
        proxy.armed.set()
        page.locator("#question").fill(AUSTIN_QUESTION)
        page.locator("#question").press("Enter")
        retry = expect_kept_with_a_retry(page, AUSTIN_QUESTION)
        assert not proxy.armed.is_set(), "the stream was not cut"
        expect(page.locator(".turn .answer")).to_contain_text("The answer stopped before it was complete.")
        expect_the_retry_answers(page, retry)
        assert [p for p in page_errors(problems) if "ERR_INCOMPLETE_CHUNKED_ENCODING" not in p] == []
    finally:
        proxy.close()


def test_a_question_typed_while_waiting_is_not_overwritten_by_the_failed_one(browser: Browser, page_url: str) -> None:
    page, _ = open_page(browser, page_url)
    held: list[Route] = []
    page.route("**/v1/query/stream", lambda route: held.append(route), times=1)
    page.locator("#question").fill(AUSTIN_QUESTION)
    page.locator("#question").press("Enter")
    expect(page.locator(".turn .answer")).to_have_attribute("data-state", "streaming")
    page.locator("#question").fill("And in Seattle?")
    assert held, "the request never reached the route"
    held[0].fulfill(status=503, json={"error": {"code": "index_unavailable", "message": "The index is unavailable."}})
    expect(page.locator(".turn .answer")).to_have_attribute("data-state", "failed")
    expect(page.locator("#question")).to_have_value("And in Seattle?")
    expect(page.locator(".turn .answer").get_by_role("button", name=f"Retry: {AUSTIN_QUESTION}")).to_be_visible()


def test_feedback_buttons_say_what_they_mean_without_an_emoji_font(
    browser: Browser, page_url: str, screenshots: Path
) -> None:
    page, problems = open_page(browser, page_url)
    turn = ask(page, AUSTIN_QUESTION)
    answer = page.locator(f".turn:nth-child({turn}) .answer")
    for name in ("Helpful", "Not helpful"):
        button = answer.get_by_role("button", name=name, exact=True)
        expect(button).to_have_attribute("title", name)
        label = button.locator(".feedback-label")
        expect(label).to_have_text(name)
        expect(label).to_be_visible()  # shown, not only announced: the emoji may draw as an empty box
        box = label.bounding_box()
        assert box is not None and box["width"] > 20
        assert name in button.inner_text()
    answer.screenshot(path=str(screenshots / "chat-page-feedback.png"))
    assert problems == []


def test_a_refused_question_stays_in_the_box_to_be_mended_without_a_retry(browser: Browser, page_url: str) -> None:
    page, problems = open_page(browser, page_url)
    refusal = {
        "error": {"code": "invalid_request", "message": "question contains control characters", "param": "question"}
    }
    page.route("**/v1/query/stream", lambda route: route.fulfill(status=422, json=refusal), times=1)
    page.locator("#question").fill(AUSTIN_QUESTION)
    page.locator("#question").press("Enter")
    answer = page.locator(".turn .answer")
    expect(answer).to_have_attribute("data-state", "failed")
    expect(answer).to_contain_text("question contains control characters")
    expect(page.locator("#question")).to_have_value(AUSTIN_QUESTION)
    expect(answer.locator("button.retry")).to_have_count(0)  # the same question would be refused again
    assert page_errors(problems) == []
