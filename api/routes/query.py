"""`POST /v1/query` and `POST /v1/retrieve`. Each takes the text under its own name (`question`, `query`) or
the other's; the text is checked under the name it came in, so an error names what the caller sent."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import ServiceDep, StateDep
from api.schemas import ErrorResponse, QueryRequest, QueryResponse, RetrieveRequest, RetrieveResponse
from rag.models import answer_payload, retrieved_payload
from rag.operations.conversation import ask_in_conversation

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse},
    422: {"model": ErrorResponse},
    503: {"model": ErrorResponse},
}

router = APIRouter(prefix="/v1", responses=ERRORS)


@router.post("/query", response_model=QueryResponse, summary="Answer a question with citations")
def query(body: QueryRequest, service: ServiceDep, store: StateDep) -> dict[str, object]:
    service.check_question(body.question, body.asked_as)
    answer = ask_in_conversation(service, store, body.question, body.top_k, body.conversation_id, source=body.source)
    return answer_payload(answer)


@router.post("/retrieve", response_model=RetrieveResponse, summary="The ranked chunks for a query")
def retrieve(body: RetrieveRequest, service: ServiceDep) -> dict[str, object]:
    service.check_question(body.query, body.asked_as)
    results = service.retrieve(body.query, body.top_k, body.source)
    return {"results": [retrieved_payload(r) for r in results]}
