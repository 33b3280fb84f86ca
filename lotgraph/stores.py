"""Open the store the settings choose."""

from __future__ import annotations

import neo4j

from graph.embedded import EmbeddedStore
from graph.neo4j_store import Neo4jStore
from graph.store import GraphStore
from lotgraph import neo4j_local
from lotgraph.settings import Settings


class StoreUnavailable(RuntimeError):
    pass


def open_neo4j(settings: Settings) -> Neo4jStore:
    neo = settings.neo4j
    if neo.uri:
        if neo.password is None:
            raise StoreUnavailable("NEO4J_URI is set but NEO4J_PASSWORD is not")
        return Neo4jStore(
            neo.uri,
            neo.user,
            neo.password.get_secret_value(),
            neo.database,
            max_retry_seconds=neo.max_retry_seconds,
        )
    info = neo4j_local.connection_info(settings.data_dir)
    if info is None:
        raise StoreUnavailable(
            "LOTGRAPH_STORE=neo4j but NEO4J_URI is not set and no local Neo4j runs; "
            "start one with `lotgraph neo4j start`"
        )
    return Neo4jStore(
        info.uri, info.user, info.password, info.database, max_retry_seconds=neo.max_retry_seconds
    )


def open_store(settings: Settings | None = None) -> GraphStore:
    """The configured store, its schema ensured."""
    settings = settings or Settings()
    store: GraphStore
    if settings.store == "neo4j":
        store = open_neo4j(settings)
    else:
        store = EmbeddedStore(settings.data_dir / "graph.sqlite")
    try:
        store.ensure_schema()
    except (neo4j.exceptions.ServiceUnavailable, neo4j.exceptions.AuthError) as exc:
        store.close()
        raise StoreUnavailable(f"Neo4j cannot be used: {exc}") from None
    return store
