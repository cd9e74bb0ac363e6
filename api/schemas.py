"""Request and response bodies of the JSON API, as the contract fixes them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, StrictStr

from rag.settings import Settings

# What `QAService.check_question` accepts, stated in the schema for clients and the fuzzer: some text that
# is not blank, no control characters (tab and line breaks aside), at most the default length.
_ALLOWED = r"[^\x00-\x08\x0e-\x1f\x7f-\x9f]"
QUESTION_RULES = {
    "pattern": rf"^{_ALLOWED}*[^\s\x00-\x08\x0e-\x1f\x7f-\x9f]{_ALLOWED}*$",
    "maxLength": Settings.model_fields["max_question_chars"].default,
}
TOP_K_RULES = {"maximum": Settings.model_fields["max_top_k"].default}
SOURCE_DESCRIPTION = (
    "Only this document: its path relative to the corpus folder, as `source` in citations and results. "
    "One of the documents of the index in service (listed here once the server has loaded one); any other "
    "path is refused with 422."
)
SOURCE_MAX_LENGTH = 1000


def _whole_float_as_int(value: object) -> object:
    return int(value) if isinstance(value, float) and value.is_integer() else value


# A count as JSON Schema means an integer: 10 and 10.0 are the same number; "10", true and 10.5 are refused.
Count = Annotated[StrictInt, Field(ge=1), BeforeValidator(_whole_float_as_int)]


class QueryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: StrictStr = Field(
        ...,
        description="The question, in plain language.",
        examples=["What do AI engineers earn in Seattle?"],
        json_schema_extra=QUESTION_RULES,
    )
    top_k: Count | None = Field(None, description="How many chunks to consider.", json_schema_extra=TOP_K_RULES)
    conversation_id: StrictStr | None = Field(None, max_length=200, description="Keeps follow-up questions in context.")
    source: StrictStr | None = Field(
        None,
        max_length=SOURCE_MAX_LENGTH,
        description=SOURCE_DESCRIPTION,
        examples=["ai-engineer-job-description-2026.txt"],
    )


class RetrieveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: StrictStr = Field(..., examples=["regional salary Seattle"], json_schema_extra=QUESTION_RULES)
    top_k: Count | None = Field(None, json_schema_extra=TOP_K_RULES)
    source: StrictStr | None = Field(
        None,
        max_length=SOURCE_MAX_LENGTH,
        description=SOURCE_DESCRIPTION,
        examples=["ai-engineer-job-description-2026.txt"],
    )


class CitationOut(BaseModel):
    n: int
    chunk_id: str
    source: str
    section: str
    quote: str
    start: int
    end: int
    score: float
    # Only for a source with markup (Markdown, HTML), whose `quote` is the span without it: absent, not
    # null, for plain text, so that those citations keep the contract's exact shape.
    source_quote: str | None = Field(
        None,
        exclude_if=lambda value: value is None,
        description="The raw span `source_text[start:end]`, markup and all, when the source has markup.",
    )


AnswerShape = Literal["fact", "list", "section", "table", "comparison"]


class QueryResponse(BaseModel):
    query_id: str
    answer: str
    answerable: bool
    citations: list[CitationOut]
    answerer: str = Field("extractive", description='Who wrote the answer: "extractive", "openai" or "anthropic".')
    shape: AnswerShape = Field(
        "fact",
        description="What the answer quotes: one fact, a whole list (one line and citation per item), a part "
        "of the guide, a table row under its column headers, or a passage per part of the question.",
    )


class RetrievedOut(BaseModel):
    chunk_id: str
    source: str
    section: str
    text: str
    start: int
    end: int
    score: float


class RetrieveResponse(BaseModel):
    results: list[RetrievedOut]


class ErrorDetail(BaseModel):
    code: str
    message: str
    # OpenAI's fields, so its clients read them: the kind of failure, and the field at fault (or null).
    type: Literal[
        "invalid_request_error", "authentication_error", "permission_error", "rate_limit_error", "server_error"
    ]
    param: str | None


class ErrorResponse(BaseModel):
    error: ErrorDetail


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    ready: bool
    reason: str
