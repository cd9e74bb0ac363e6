"""Request and response bodies of the JSON API, as the contract fixes them."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, StrictInt, StrictStr, model_validator
from pydantic_core import PydanticCustomError

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


def whole_float_as_int(value: object) -> object:
    return int(value) if isinstance(value, float) and value.is_integer() else value


# An integer as JSON Schema means one: 10 and 10.0 are the same number; "10", true and 10.5 are refused.
Whole = Annotated[StrictInt, BeforeValidator(whole_float_as_int)]
# (Bounds go beside the validator, not around `Whole`: around it they would not reach the JSON Schema.)
Count = Annotated[StrictInt, Field(ge=1), BeforeValidator(whole_float_as_int)]


# `/v1/query` asks a `question` and `/v1/retrieve` a `query`; each takes the other's name too, as callers
# mix them up, but one of the two only.
def exactly_one_name(schema: dict[str, Any]) -> None:
    """Exactly one of the two names; their "" defaults are how the model tells them apart, not values to send."""
    schema["oneOf"] = [{"required": ["question"]}, {"required": ["query"]}]
    for name in ("question", "query"):
        schema["properties"][name].pop("default", None)


class AskedText(BaseModel):
    """A body that carries its text under one of two names: the route's own (`canonical`) or the other
    route's. Both fields default to "" so that neither is required as such (and neither may be null);
    which one the caller sent is what they set, and the text ends up under the canonical name."""

    _asked_as: str = PrivateAttr("")

    @property
    def asked_as(self) -> str:
        """The name the caller sent the text under, for error messages about it."""
        return self._asked_as

    def take_text(self, canonical: str, alias: str) -> None:
        given = [name for name in (canonical, alias) if name in self.model_fields_set]
        context = {"field": canonical, "alias": alias}
        if not given:
            raise PydanticCustomError("missing_question", "Field required (or `{alias}` in its place)", context)
        if len(given) > 1:
            raise PydanticCustomError(
                "question_twice", "send the text as `question` or as `query`, one of the two, not both", context
            )
        self._asked_as = given[0]
        setattr(self, canonical, getattr(self, given[0]))


class QueryRequest(AskedText):
    model_config = ConfigDict(extra="forbid", json_schema_extra=exactly_one_name)

    question: StrictStr = Field(
        "",
        description="The question, in plain language: the canonical name on this route (and on "
        "`/v1/query/stream`). `query` is accepted in its place; send one of the two, not both.",
        examples=["What do AI engineers earn in Seattle?"],
        json_schema_extra=QUESTION_RULES,
    )
    query: StrictStr = Field(
        "",
        description="Accepted in place of `question` (the name `/v1/retrieve` uses); `question` is canonical here.",
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

    @model_validator(mode="after")
    def one_way_of_asking(self) -> Self:
        self.take_text("question", "query")
        return self


class RetrieveRequest(AskedText):
    model_config = ConfigDict(extra="forbid", json_schema_extra=exactly_one_name)

    query: StrictStr = Field(
        "",
        description="What to search for: the canonical name on this route. `question` is accepted in its place; "
        "send one of the two, not both.",
        examples=["regional salary Seattle"],
        json_schema_extra=QUESTION_RULES,
    )
    question: StrictStr = Field(
        "",
        description="Accepted in place of `query` (the name `/v1/query` uses); `query` is canonical here.",
        json_schema_extra=QUESTION_RULES,
    )
    top_k: Count | None = Field(None, json_schema_extra=TOP_K_RULES)
    source: StrictStr | None = Field(
        None,
        max_length=SOURCE_MAX_LENGTH,
        description=SOURCE_DESCRIPTION,
        examples=["ai-engineer-job-description-2026.txt"],
    )

    @model_validator(mode="after")
    def one_way_of_asking(self) -> Self:
        self.take_text("query", "question")
        return self


SCORE_DESCRIPTION = (
    "How well the passage ranked for the question: the learned ranker's score (rag/ranking/model.py), a "
    "weighted sum of features of the question and the passage — dense cosine similarity at weight 1, then BM25, "
    "word and word-pair overlap, the kind of passage (table row, list item, preview) and others. It reads in "
    "units of cosine similarity but is unbounded: not a probability, not capped at 1, and it may in principle be "
    "negative. Higher ranks first. On the guide's golden questions cited passages score about 0.6 to 1.5 "
    "(median about 1.0). Compare scores within one response; they move when the ranker's weights are refitted. "
    "Not the dense similarity alone that the query log and /metrics report as `top_score` (at most 1)."
)


class CitationOut(BaseModel):
    n: int
    chunk_id: str
    source: str
    section: str
    quote: str
    start: int
    end: int
    score: float = Field(
        description=SCORE_DESCRIPTION + " Quotes taken for one passage (the items of its list, the paragraphs of "
        "its section) carry that passage's score."
    )
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
    score: float = Field(description=SCORE_DESCRIPTION)


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
