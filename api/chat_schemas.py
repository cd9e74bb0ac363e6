"""The parts of the OpenAI Chat Completions wire format this service speaks. Requests accept the
fields OpenAI clients usually send (temperature, max_tokens, user, ...) and ignore what does not
apply to quoting a guide; responses carry the guide's citations alongside."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from api.schemas import TOP_K_RULES, AnswerShape, CitationOut, Count
from rag.settings import Settings

MODEL_ID = "guide-rag"
# A chat front end resends the whole conversation each turn; beyond this many messages it is refused.
MAX_MESSAGES = 256


class ContentPart(BaseModel):
    """One part of a message's content; only `text` parts carry a question."""

    model_config = ConfigDict(extra="allow")

    type: StrictStr
    text: StrictStr | None = None


ROLES = ("system", "developer", "user", "assistant", "tool", "function")
# A user message is read for its text (a question, or an earlier one that gives a follow-up its subject), so
# its content may hold only text parts; other messages are not read, and their content may be anything.
USER_CONTENT_RULE: dict[str, Any] = {
    "anyOf": [
        {"properties": {"role": {"enum": [role for role in ROLES if role != "user"]}}},
        {
            "properties": {
                "content": {
                    "anyOf": [
                        {"type": "string"},
                        {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["type", "text"],
                                "properties": {"type": {"const": "text"}, "text": {"type": "string"}},
                            },
                        },
                        {"type": "null"},
                    ]
                }
            }
        },
    ]
}


class ChatMessage(BaseModel):
    # name, tool_calls, ... are accepted and ignored
    model_config = ConfigDict(extra="allow", json_schema_extra=USER_CONTENT_RULE)

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: StrictStr | list[ContentPart] | None = None


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "model": MODEL_ID,
                    "messages": [
                        {"role": "user", "content": "What do AI engineers earn in Austin?"},
                        {"role": "assistant", "content": "Regional Salary Data: Austin $135,000 - $185,000 [1]"},
                        {"role": "user", "content": "And in Seattle?"},
                    ],
                }
            ]
        },
    )

    model: StrictStr = Field(MODEL_ID, description=f"Any value is accepted; the answer comes from `{MODEL_ID}`.")
    messages: list[ChatMessage] = Field(
        ...,
        min_length=1,
        max_length=MAX_MESSAGES,
        description="The conversation, oldest first. The last message must be the user's (role `user`) and "
        "hold the question: text that is not blank, without control characters (tab and line breaks aside), "
        f"at most {Settings.model_fields['max_question_chars'].default} characters (its text parts joined by a "
        "line break); any other last message is refused with 422, as JSON Schema cannot single out the last "
        "item of an array. Earlier user messages give context to follow-ups.",
    )
    stream: StrictBool | None = Field(False, description="Send `chat.completion.chunk` events, then `data: [DONE]`.")
    top_k: Count | None = Field(
        None, description="How many chunks to consider (not an OpenAI field).", json_schema_extra=TOP_K_RULES
    )


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    refusal: None = None


class Choice(BaseModel):
    index: int
    message: AssistantMessage
    finish_reason: Literal["stop"]
    logprobs: None = None


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[Choice]
    citations: list[CitationOut] = Field(description="The answer's citations, as in `/v1/query`.")
    query_id: str
    answerable: bool
    answerer: str = Field(description='Who wrote the answer: "extractive", "openai" or "anthropic".')
    shape: AnswerShape = Field(description="What the answer quotes, as in `/v1/query`.")


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]
