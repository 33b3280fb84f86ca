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
    """The configured Neo4j; refused while it holds an unfinished first load."""
    neo = settings.neo4j
    if neo.uri:
        if neo.password is None:
            raise StoreUnavailable("NEO4J_URI is set but NEO4J_PASSWORD is not")
        return _complete(
            Neo4jStore(
                neo.uri,
                neo.user,
                neo.password.get_secret_value(),
                neo.database,
                max_retry_seconds=neo.max_retry_seconds,
            )
        )
    pending = neo4j_local.interrupted_first_load(settings.data_dir)
    if pending is not None:
        raise StoreUnavailable(neo4j_local.unfinished_first_load_text(pending))
    info = neo4j_local.connection_info(settings.data_dir)
    if info is None:
        raise StoreUnavailable(
            "LOTGRAPH_STORE=neo4j but NEO4J_URI is not set and no local Neo4j runs; "
            "start one with `lotgraph neo4j start`"
        )
    return _complete(
        Neo4jStore(
            info.uri,
            info.user,
            info.password,
            info.database,
            max_retry_seconds=neo.max_retry_seconds,
        )
    )


def _complete(store: Neo4jStore) -> Neo4jStore:
    """The store, unless an interrupted first load left it incomplete (closed, refused)."""
    try:
        pending = store.first_load_pending()
    except (neo4j.exceptions.ServiceUnavailable, neo4j.exceptions.AuthError) as exc:
        store.close()
        raise StoreUnavailable(f"Neo4j cannot be used: {exc}") from None
    except BaseException:
        store.close()
        raise
    if pending is not None:
        store.close()
        raise StoreUnavailable(neo4j_local.unfinished_first_load_text(pending))
    return store


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
