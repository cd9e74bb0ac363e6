"""Block Kit rendering: Slack's escaping, its size limits, and the reading of incoming markup. Long
replies are also posted through the real `slack_sdk` client to the fake, which refuses what Slack would."""

from __future__ import annotations

import re

from slack_sdk import WebClient

from api.slack_blocks import (
    MESSAGE_BLOCKS_LIMIT,
    SECTION_TEXT_LIMIT,
    answer_messages,
    as_mrkdwn,
    escape,
    plain_question,
    split_escaped,
    unescape,
)
from rag.models import Answer, Citation
from tests.fakes.slack_api import TOKEN, fake_slack_api

ENTITY_SAFE = re.compile(r"&(?!amp;|lt;|gt;)|[<>]")


def citation(n: int, quote: str = "Seattle $160,000 - $220,000 High (1.4x national average)") -> Citation:
    return Citation(n, f"c{n}", "guide.txt", "Compensation Guide > Regional Salary Data", quote, 0, len(quote), 0.9)


def test_escape_covers_the_three_characters_slack_reserves() -> None:
    assert escape("R&D <b>bold</b> a > b") == "R&amp;D &lt;b&gt;bold&lt;/b&gt; a &gt; b"
    assert unescape(escape("&amp; is already an entity")) == "&amp; is already an entity"


def test_plain_question_drops_the_bot_mention_and_undoes_slack_markup() -> None:
    text = "<@UBOT0001> what about R&amp;D &lt;teams&gt; in <#C123|general>, says <@U999|ada>, see <https://x.io/a|the doc> <!here>"
    assert plain_question(text, "UBOT0001") == "what about R&D <teams> in #general, says @ada, see the doc @here"
    assert plain_question("<@UBOT0001>   ", "UBOT0001") == ""


def test_long_text_is_split_under_the_section_limit_without_breaking_escapes() -> None:
    paragraph = "Salaries & equity <vary> by city; " * 40
    text = "\n".join([paragraph] * 12 + ["x" * 7000 + "&&&"])
    pieces = split_escaped(text)
    assert len(pieces) > 3
    for piece in pieces:
        assert 0 < len(piece) <= SECTION_TEXT_LIMIT
        assert not ENTITY_SAFE.search(piece), "an escape sequence was cut or a character left unescaped"
    assert "".join(unescape("".join(pieces)).split()) == "".join(text.split())


def test_an_answer_too_big_for_one_message_is_spread_over_several_that_slack_accepts() -> None:
    lines = [f"Line {i}: AI engineers & their <managers> agree on scope. [{i % 60 + 1}]" * 8 for i in range(400)]
    answer = Answer("q" * 32, "a long one", "\n".join(lines), True, [citation(n) for n in range(1, 61)])
    messages = answer_messages(answer)
    assert len(messages) > 1
    all_blocks = [block for m in messages for block in m["blocks"]]
    assert all(len(m["blocks"]) <= MESSAGE_BLOCKS_LIMIT for m in messages)
    assert sum(1 for b in all_blocks if b["type"] == "actions") == 1
    assert messages[-1]["blocks"][-1]["type"] == "actions"  # the buttons close the reply
    sources = [e["text"] for b in all_blocks if b["type"] == "context" for e in b["elements"]]
    assert [s.split("]")[0] for s in sources] == [f"[{n}" for n in range(1, 61)]
    with fake_slack_api() as fake:
        client = WebClient(token=TOKEN, base_url=fake.base_url)
        for m in messages:
            client.chat_postMessage(channel="C0GENERAL", thread_ts="1.000001", **m)
        assert len(fake.calls_to("chat.postMessage")) == len(messages)


def test_a_source_line_shows_section_and_a_shortened_quote() -> None:
    long_quote = "Seattle $160,000 - $220,000 " + "and a great deal more words " * 20
    (message,) = answer_messages(Answer("q1", "q", "Seattle pays well [1]", True, [citation(1, long_quote)]))
    (line,) = [e["text"] for b in message["blocks"] if b["type"] == "context" for e in b["elements"]]
    assert line.startswith('[1] Compensation Guide &gt; Regional Salary Data — "Seattle $160,000 - $220,000')
    assert line.endswith('…"') and len(line) < 250


def test_a_list_answer_reads_as_bullets_under_a_bold_heading() -> None:
    text = "Key Responsibilities:\n- Design and develop models [1]\n- Build and maintain pipelines [2]"
    assert (
        as_mrkdwn(text)
        == "*Key Responsibilities:*\n• Design and develop models [1]\n• Build and maintain pipelines [2]"
    )
    # A fact answer is left as it is.
    assert as_mrkdwn("Regional Salary Data: Seattle $160,000 [1]") == "Regional Salary Data: Seattle $160,000 [1]"


def test_a_long_list_answer_stays_within_slacks_limits() -> None:
    items = [citation(n, f"Item {n} " + "word " * 40) for n in range(1, 13)]
    text = "A List:\n" + "\n".join(f"- {c.quote} [{c.n}]" for c in items)
    answer = Answer("q1", "list?", text, True, items, shape="list")
    messages = answer_messages(answer)
    blocks = [b for m in messages for b in m["blocks"]]
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert all(len(t) <= SECTION_TEXT_LIMIT for t in sections)
    assert all(len(m["blocks"]) <= MESSAGE_BLOCKS_LIMIT for m in messages)
    shown = "\n".join(sections)
    assert shown.startswith("*A List:*\n• Item 1")
    assert all(f"[{n}]" in shown for n in range(1, 13))
