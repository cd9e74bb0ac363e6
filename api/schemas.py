"""Request and response bodies of the JSON API, as the contract fixes them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr


class QueryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: StrictStr = Field(
        ..., description="The question, in plain language.", examples=["What do AI engineers earn in Seattle?"]
    )
    top_k: StrictInt | None = Field(None, ge=1, description="How many chunks to consider.")
    conversation_id: StrictStr | None = Field(None, max_length=200, description="Keeps follow-up questions in context.")


class RetrieveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: StrictStr = Field(..., examples=["regional salary Seattle"])
    top_k: StrictInt | None = Field(None, ge=1)


class CitationOut(BaseModel):
    n: int
    chunk_id: str
    source: str
    section: str
    quote: str
    start: int
    end: int
    score: float


class QueryResponse(BaseModel):
    query_id: str
    answer: str
    answerable: bool
    citations: list[CitationOut]
    answerer: str = Field("extractive", description='Who wrote the answer: "extractive", "openai" or "anthropic".')


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


class ErrorResponse(BaseModel):
    error: ErrorDetail


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    ready: bool
    reason: str
