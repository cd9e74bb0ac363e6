"""How an answer looks in Slack: Block Kit with the answer and its [n], the sources it quotes, and 👍/👎
buttons. Slack's escaping and size limits are handled here, so the bot never posts what Slack would refuse."""

from __future__ import annotations

import json
import re
from typing import Any

from rag.answering.extractive import closest_sections
from rag.models import Answer, Citation

Block = dict[str, Any]
Message = dict[str, Any]  # keyword arguments of chat.postMessage / respond: `text` and `blocks`

# Slack's own limits (https://api.slack.com/reference/block-kit/blocks).
SECTION_TEXT_LIMIT = 3000
CONTEXT_ELEMENTS_LIMIT = 10
MESSAGE_BLOCKS_LIMIT = 50
# Ours: a message stays readable and far below Slack's total payload size; more goes into the next message.
MESSAGE_CHARS_BUDGET = 12_000
NOTIFICATION_CHARS = 300
QUOTE_PREVIEW_CHARS = 160

FEEDBACK_BLOCK_ID = "feedback"
FEEDBACK_RATINGS = {"feedback_up": "up", "feedback_down": "down"}
CHANGE_VOTE = " To change your vote, click the other button."
THANKS = {
    "up": "👍 Thanks for the feedback — glad it helped." + CHANGE_VOTE,
    "down": "👎 Thanks for the feedback — it helps us improve the answers." + CHANGE_VOTE,
}

# Slack's markup in incoming text: <@U123>, <@U123|name>, <#C123|general>, <!here>, <https://x|label>.
SLACK_MARKUP = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")


def escape(text: str) -> str:
    """Slack's mrkdwn escaping: the three characters that would otherwise start markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def plain_question(text: str, bot_user_id: str | None = None) -> str:
    """The question as a person typed it: the bot's mention dropped, Slack's markup and escaping undone."""

    def readable(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith("@"):
            return "" if target[1:] == bot_user_id else f"@{label or target[1:]}"
        if target.startswith("#"):
            return f"#{label or target[1:]}"
        if target.startswith("!"):
            return label or f"@{target[1:].split('^')[0]}"
        return label or target

    return " ".join(unescape(SLACK_MARKUP.sub(readable, text)).split())


def _hard_cut(word: str, limit: int) -> list[str]:
    """A word longer than a whole block, cut between characters so no escape sequence is split."""
    parts, current = [], ""
    for char in word:
        escaped = escape(char)
        if len(current) + len(escaped) > limit:
            parts.append(current)
            current = ""
        current += escaped
    return [*parts, current]


def _wrap_line(line: str, limit: int) -> list[str]:
    if len(escape(line)) <= limit:
        return [escape(line)]
    parts: list[str] = []
    current: str | None = None
    for raw_word in line.split(" "):
        word = escape(raw_word)
        for piece in [word] if len(word) <= limit else _hard_cut(raw_word, limit):
            if current is None:
                current = piece
            elif len(current) + 1 + len(piece) <= limit:
                current += " " + piece
            else:
                parts.append(current)
                current = piece
    return [*parts, current] if current is not None else parts


def split_escaped(text: str, limit: int = SECTION_TEXT_LIMIT) -> list[str]:
    """`text` escaped for Slack, in pieces of at most `limit` characters: cut at line breaks where
    possible, else between words, and never inside an escape sequence."""
    if not text.strip():
        return []
    pieces: list[str] = []
    current: str | None = None
    for line in text.split("\n"):
        for part in _wrap_line(line, limit):
            if current is None:
                current = part
            elif len(current) + 1 + len(part) <= limit:
                current += "\n" + part
            else:
                pieces.append(current)
                current = part
    if current is not None:
        pieces.append(current)
    return [piece for piece in pieces if piece.strip()]


def shorten(text: str, limit: int) -> str:
    """`text` on one line, cut at a word boundary to at most `limit` characters, with … when cut."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    if " " in cut:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,;:") + "…"


def source_line(citation: Citation) -> str:
    """`[n] Section > Path — "quote…"`, escaped."""
    where = citation.section or citation.source
    line = f'[{citation.n}] {where} — "{shorten(citation.quote, QUOTE_PREVIEW_CHARS)}"'
    return escape(shorten(line, SECTION_TEXT_LIMIT // 2))


def source_blocks(citations: list[Citation]) -> list[Block]:
    lines = [source_line(c) for c in citations]
    return [
        {
            "type": "context",
            "block_id": f"sources_{i // CONTEXT_ELEMENTS_LIMIT}",
            "elements": [{"type": "mrkdwn", "text": line} for line in lines[i : i + CONTEXT_ELEMENTS_LIMIT]],
        }
        for i in range(0, len(lines), CONTEXT_ELEMENTS_LIMIT)
    ]


def feedback_block(query_id: str) -> Block:
    def button(action_id: str, label: str) -> Block:
        return {
            "type": "button",
            "action_id": action_id,
            "text": {"type": "plain_text", "text": label, "emoji": True},
            "value": query_id,
        }

    return {
        "type": "actions",
        "block_id": FEEDBACK_BLOCK_ID,
        "elements": [button("feedback_up", "👍 Helpful"), button("feedback_down", "👎 Not helpful")],
    }


def abstention_text(answer: Answer) -> str:
    text = "Sorry — the hiring guide doesn't cover that, so I won't guess."
    sections = closest_sections(answer.retrieved)
    if sections:
        text += " The closest sections are:\n" + "\n".join(f"• {section}" for section in sections)
    return text


def section_blocks(text: str) -> list[Block]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": piece}} for piece in split_escaped(text)]


def block_chars(block: Block) -> int:
    return len(json.dumps(block, ensure_ascii=False))


def into_messages(blocks: list[Block]) -> list[Message]:
    """Blocks packed into as few messages as Slack's limits allow, each with its notification text."""
    groups: list[list[Block]] = []
    current: list[Block] = []
    size = 0
    for block in blocks:
        weight = block_chars(block)
        if current and (len(current) == MESSAGE_BLOCKS_LIMIT or size + weight > MESSAGE_CHARS_BUDGET):
            groups.append(current)
            current, size = [], 0
        current.append(block)
        size += weight
    if current:
        groups.append(current)
    return [{"text": notification_text(group), "blocks": group} for group in groups]


def notification_text(blocks: list[Block]) -> str:
    """The plain `text` Slack shows in notifications and where blocks cannot be drawn."""
    first = next((b["text"]["text"] for b in blocks if b.get("type") == "section"), None)
    if first is None:
        first = next((e["text"] for b in blocks if b.get("type") == "context" for e in b["elements"]), "")
    return escape(shorten(unescape(first), NOTIFICATION_CHARS))


def as_mrkdwn(text: str) -> str:
    """An answer's lines for Slack: an item of a list ("- …") as a bullet, a list's heading ("Key
    Responsibilities:", no citation of its own) in bold."""
    lines = text.split("\n")
    shown = []
    for i, line in enumerate(lines):
        if line.startswith("- "):
            shown.append("• " + line[2:])
        elif line.endswith(":") and i + 1 < len(lines) and lines[i + 1].startswith("- ") and "*" not in line:
            shown.append(f"*{line}*")
        else:
            shown.append(line)
    return "\n".join(shown)


def read_as_block(resolved_question: str) -> Block:
    """A note that the question was read with the earlier exchange, and how."""
    text = f"_Read with your earlier question, as: “{escape(shorten(resolved_question, QUOTE_PREVIEW_CHARS))}”_"
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def answer_messages(answer: Answer, read_as: str | None = None) -> list[Message]:
    """The reply to a question: the answer (or a polite abstention), its sources, and feedback buttons;
    first, when `read_as` is given, how a follow-up was read."""
    body = as_mrkdwn(answer.answer) if answer.answerable else abstention_text(answer)
    blocks = [*section_blocks(body), *source_blocks(answer.citations), feedback_block(answer.query_id)]
    if read_as:
        blocks.insert(0, read_as_block(read_as))
    return into_messages(blocks)


def notice_messages(text: str) -> list[Message]:
    """A reply that is not an answer (usage help, an error), in the same message shape."""
    return into_messages(section_blocks(text))
