"""The parts of the OpenAI Chat Completions wire format this service speaks. A request may carry every
field of OpenAI's (what the `openai` client, langchain-openai and llama-index send); those that do not
change a quoted answer (temperature, seed, user, ...) are accepted and ignored, what the service cannot
honour (structured output, forced tool calls, several choices) is refused naming the field, and a field
OpenAI does not have is refused as OpenAI refuses it. Responses carry the guide's citations alongside."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from api.schemas import TOP_K_RULES, AnswerShape, CitationOut, Count, Whole, whole_float_as_int
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


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: StrictBool | None = Field(
        None, description="Send a last chunk with the `usage` and no choices before `data: [DONE]`."
    )
    include_obfuscation: StrictBool | None = Field(None, description="Accepted and ignored.")


class ResponseFormat(BaseModel):
    model_config = ConfigDict(extra="allow")

    # Any other type is refused by the request's validator, which names `response_format` as OpenAI does.
    type: Annotated[StrictStr, WithJsonSchema({"type": "string", "const": "text"})]


def unsupported(message: str) -> PydanticCustomError:
    return PydanticCustomError("unsupported_value", message)


# What `tool_choice` and the deprecated `function_call` may be: the model may always choose not to call.
MAY_SKIP_TOOLS = ("none", "auto")
TOOL_CHOICE_SCHEMA = WithJsonSchema({"anyOf": [{"enum": list(MAY_SKIP_TOOLS)}, {"type": "null"}]})
# Fields of OpenAI's that this service cannot honour at all: present in the schema, so that they are not
# "unrecognized", and refused whatever their value.
REFUSED_SCHEMA = WithJsonSchema({"not": {}})
Unit = Annotated[StrictFloat, Field(ge=0, le=1)]
Penalty = Annotated[StrictFloat, Field(ge=-2, le=2)]


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
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
        "line break); any other last message is refused with 400, as JSON Schema cannot single out the last "
        "item of an array. Earlier user messages give context to follow-ups.",
    )
    stream: StrictBool | None = Field(False, description="Send `chat.completion.chunk` events, then `data: [DONE]`.")
    top_k: Count | None = Field(
        None, description="How many chunks to consider (not an OpenAI field).", json_schema_extra=TOP_K_RULES
    )
    stream_options: StreamOptions | None = None
    max_tokens: Count | None = Field(
        None,
        description="At most this many tokens of message content (counted approximately: four tokens for every "
        "three words). The answer is cut after the last whole quote that fits, with its footnotes, and "
        '`finish_reason` is "length"; the first quote is kept even when it alone is longer.',
    )
    max_completion_tokens: Count | None = Field(None, description="The same as `max_tokens`; the smaller wins.")
    n: Count | None = Field(
        None, description="How many choices: only 1 (the guide has one answer).", json_schema_extra={"maximum": 1}
    )
    response_format: ResponseFormat | None = Field(
        None,
        description='Only `{"type": "text"}`: the answer is quoted prose with citations, so `json_object` and '
        "`json_schema` (structured output, `client.chat.completions.parse`) are refused with 400.",
    )
    tools: list[dict[str, JsonValue]] | None = Field(
        None, description="Accepted, never called: the answer always comes from the guide."
    )
    tool_choice: Annotated[StrictStr | dict[str, JsonValue] | None, TOOL_CHOICE_SCHEMA] = Field(
        None, description='"auto" or "none"; "required" or a named function cannot be honoured and is refused.'
    )
    functions: list[dict[str, JsonValue]] | None = Field(None, description="Deprecated form of `tools`, likewise.")
    function_call: Annotated[StrictStr | dict[str, JsonValue] | None, TOOL_CHOICE_SCHEMA] = Field(
        None, description="Deprecated form of `tool_choice`, likewise."
    )
    parallel_tool_calls: StrictBool | None = None
    modalities: list[Literal["text"]] | None = Field(None, description="Only text.")
    audio: Annotated[JsonValue, REFUSED_SCHEMA] = Field(None, description="Not supported: refused.")
    web_search_options: Annotated[JsonValue, REFUSED_SCHEMA] = Field(None, description="Not supported: refused.")
    # Accepted and ignored: an answer quoted from the guide has no sampling, penalties or stop words.
    temperature: Annotated[StrictFloat, Field(ge=0, le=2)] | None = None
    top_p: Unit | None = None
    presence_penalty: Penalty | None = None
    frequency_penalty: Penalty | None = None
    logit_bias: dict[str, Annotated[StrictFloat, Field(ge=-100, le=100)]] | None = None
    seed: Whole | None = None
    stop: StrictStr | list[StrictStr] | None = None
    logprobs: StrictBool | None = Field(None, description="Accepted; `logprobs` in the answer is always null.")
    top_logprobs: Annotated[StrictInt, Field(ge=0, le=20), BeforeValidator(whole_float_as_int)] | None = None
    user: StrictStr | None = None
    safety_identifier: StrictStr | None = None
    metadata: dict[str, StrictStr] | None = None
    store: StrictBool | None = None
    service_tier: StrictStr | None = None
    reasoning_effort: StrictStr | None = None
    verbosity: StrictStr | None = None
    prompt_cache_key: StrictStr | None = None
    prompt_cache_retention: StrictStr | None = None
    prompt_cache_options: JsonValue = None
    prediction: dict[str, JsonValue] | None = None
    moderation: JsonValue = None

    @field_validator("n")
    @classmethod
    def one_choice(cls, n: int | None) -> int | None:
        if n is not None and n > 1:
            raise unsupported(f"only one choice can be given (n=1): the guide has one answer, got n={n}")
        return n

    @field_validator("response_format")
    @classmethod
    def text_only(cls, response_format: ResponseFormat | None) -> ResponseFormat | None:
        if response_format is not None and response_format.type != "text":
            raise unsupported(
                f"type {response_format.type!r} is not supported: the answer is quoted prose "
                'with citations; send {"type": "text"} or leave response_format out'
            )
        return response_format

    @field_validator("tool_choice", "function_call")
    @classmethod
    def tools_may_be_skipped(cls, choice: str | dict[str, JsonValue] | None) -> str | dict[str, JsonValue] | None:
        if choice is None or choice in MAY_SKIP_TOOLS:
            return choice
        asked = "a named function" if isinstance(choice, dict) else repr(choice)
        raise unsupported(
            f'{asked} is not supported: this service answers from the guide and never calls a tool; use "auto" or '
            '"none", or leave it out'
        )

    @field_validator("audio", "web_search_options")
    @classmethod
    def cannot_honour(cls, value: JsonValue) -> JsonValue:
        # Only a value the caller sent is validated (an absent field keeps its default), and none will do.
        raise unsupported("not supported: this service answers in text quoted from the guide")


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    refusal: None = None


class Choice(BaseModel):
    index: int
    message: AssistantMessage
    finish_reason: Literal["stop", "length"] = Field(
        description='"length" when `max_tokens` cut the answer after a whole quote, else "stop".'
    )
    logprobs: None = None


class Usage(BaseModel):
    """Tokens counted approximately (four for every three words), as no model generates them."""

    prompt_tokens: int = Field(description="The text of every message.")
    completion_tokens: int = Field(description="The message content: the answer and its footnotes.")
    total_tokens: int


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
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
