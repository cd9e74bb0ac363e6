"""Schemathesis hooks (loaded with SCHEMATHESIS_HOOKS=<this file>) for the one rule of the API that JSON Schema
cannot state: the last message of a chat completion must be the user's question (the schema says so in the
description of `messages`). A conversation generated as valid gets a last message that keeps that rule, so the
fuzzer's "valid data is accepted" check holds the service to everything else; invalid data is left as generated."""

from __future__ import annotations

import re
from typing import Any

import schemathesis
from schemathesis import GenerationMode

from api.schemas import QUESTION_RULES
from rag.service import MARKUP

CHAT = "/v1/chat/completions"
QUESTION = "What do AI engineers earn in Seattle?"
SENDABLE = re.compile(str(QUESTION_RULES["pattern"]))


def text_of(content: Any) -> str | None:
    """A message's text as the service reads it, or None when it holds something other than text."""
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list) and all(isinstance(p, dict) and p.get("type") == "text" for p in content):
        texts = [p.get("text") for p in content]
        return "\n".join(texts) if all(isinstance(t, str) for t in texts) else None
    return None


def is_question(text: str | None) -> bool:
    """What `QAService.check_question` accepts: the schema's pattern and length, and not only markup."""
    if text is None or len(text) > int(QUESTION_RULES["maxLength"]) or not SENDABLE.search(text):
        return False
    return bool(MARKUP.sub(" ", text).strip())


@schemathesis.hook
def map_case(context: schemathesis.HookContext, case: schemathesis.Case) -> schemathesis.Case:
    valid = case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE
    if case.operation.path != CHAT or not valid or not isinstance(case.body, dict):
        return case
    messages = case.body.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[-1], dict):
        last = messages[-1]
        if last.get("role") != "user" or not is_question(text_of(last.get("content"))):
            messages[-1] = {**last, "role": "user", "content": QUESTION}
    return case
