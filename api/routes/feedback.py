"""`POST /v1/feedback`: a rating of an answer, tied to its `query_id` (the store Slack's 👍/👎 write to)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.exceptions import HTTPException

from api.deps import StateDep
from api.schemas import ErrorResponse

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse},
    404: {"model": ErrorResponse},
    422: {"model": ErrorResponse},
}

router = APIRouter(prefix="/v1", responses=ERRORS)


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query_id: StrictStr = Field(..., min_length=1, max_length=200, description="From the answer being rated.")
    rating: Literal["up", "down"]
    comment: StrictStr | None = Field(None, max_length=4000, description="What was right or wrong, in words.")


class FeedbackResponse(BaseModel):
    recorded: bool
    query_id: str
    rating: str


@router.post("/feedback", response_model=FeedbackResponse, summary="Rate an answer")
def feedback(body: FeedbackRequest, store: StateDep) -> dict[str, object]:
    if not store.query_exists(body.query_id):
        raise HTTPException(404, f"no answer with query_id {body.query_id!r}")
    comment = body.comment.strip() if body.comment and body.comment.strip() else None
    store.record_feedback(body.query_id, body.rating, comment, source="http")
    return {"recorded": True, "query_id": body.query_id, "rating": body.rating}
