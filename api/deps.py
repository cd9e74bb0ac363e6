"""Dependencies reached through `Depends`: the service made once in `lifespan`, and the settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from rag.operations.state_contract import SharedState
from rag.service import QAService
from rag.settings import Settings


def get_service(request: Request) -> QAService:
    return request.app.state.service  # type: ignore[no-any-return]


def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_state(request: Request) -> SharedState:
    return request.app.state.store  # type: ignore[no-any-return]


StateDep = Annotated[SharedState, Depends(get_state)]
ServiceDep = Annotated[QAService, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
