"""The FastAPI application factory. Heavy objects (model, store, retriever) are made once, in `lifespan`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.errors import install_error_handlers
from api.logging_setup import configure_logging
from api.metrics import install_observability
from api.middleware import install_protections
from api.openapi_sources import list_index_sources
from api.routes import chat_completions, feedback, health, page, query, stream
from api.routes.docs import docs_router
from api.slack import router as slack_router
from rag import __version__
from rag.errors import RagError
from rag.operations.state import open_state_store
from rag.service import QAService
from rag.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, service: QAService | None = None) -> FastAPI:
    """Build the app for `settings` (read from the environment when omitted)."""
    settings = settings or Settings()
    configure_logging(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.service = service or QAService(settings)
        app.state.store = open_state_store(settings)
        try:
            app.state.service.load()
        except RagError as exc:
            # Serve anyway: /readyz reports why, and the index is picked up once it exists.
            log.warning("starting without an index: %s", exc)
        yield

    app = FastAPI(
        title="AI Engineer hiring guide — answers with citations",
        version=__version__,
        lifespan=lifespan,
        # /docs is served with local assets (api/routes/docs.py); ReDoc would load its script from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    install_protections(app, settings)  # inside the metrics middleware, so refusals are counted
    install_observability(app)
    list_index_sources(app)
    app.include_router(health.router)
    app.include_router(query.router)
    app.include_router(stream.router)
    app.include_router(chat_completions.router)
    app.include_router(page.router)
    app.include_router(feedback.router)
    app.include_router(docs_router(app.openapi_url or "/openapi.json", app.title))
    # Slack's Request URL; its own lifespan starts the bot (and Socket Mode) after the app's.
    app.include_router(slack_router)
    return app
