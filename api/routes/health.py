"""Liveness and readiness: `/healthz` says the process runs, `/readyz` that the index answers."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import ServiceDep
from api.schemas import Health, Readiness

router = APIRouter()


@router.get("/healthz", response_model=Health)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
def readyz(service: ServiceDep) -> JSONResponse:
    ready, reason = service.readiness()
    return JSONResponse({"ready": ready, "reason": reason}, status_code=200 if ready else 503)
