"""The OpenAPI schema names the documents a `source` filter may take: those of the index in service, read
each time the schema is served (a rebuilt index may add or drop documents). Before an index is loaded the
field stays free text, as the service then refuses every request that needs one anyway."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from api.schemas import SOURCE_DESCRIPTION, SOURCE_MAX_LENGTH
from rag.errors import RagError


def indexed_sources(app: FastAPI) -> list[str] | None:
    """The documents of the index the app serves now, or None when it has none loaded (nothing is loaded here)."""
    service = getattr(app.state, "service", None)
    if service is None or service.loaded_index is None:
        return None
    try:
        loaded = service.index()  # cheap: at most one look at the active version every few seconds
    except RagError:
        loaded = service.loaded_index
    sources = sorted(s for s in loaded.retriever.sources if len(s) <= SOURCE_MAX_LENGTH)
    return sources or None


def list_index_sources(app: FastAPI) -> None:
    """Wrap `app.openapi` so every `source` field enumerates the documents of the index in service."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()
        sources = indexed_sources(app)
        if sources is None:
            return schema
        schema = copy.deepcopy(schema)  # the cached schema stays free of any one index's documents
        for component in schema.get("components", {}).get("schemas", {}).values():
            field = component.get("properties", {}).get("source")
            if field is None or field.get("description") != SOURCE_DESCRIPTION:
                continue
            field["examples"] = sources[:1]
            for branch in field.get("anyOf", []):
                if branch.get("type") == "string":
                    branch["enum"] = sources
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
