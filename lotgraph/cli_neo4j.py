"""`lotgraph neo4j start [--fresh] | stop | status [--env] [--json] | import BUNDLE`: a local
Neo4j on 127.0.0.1, and first loads into it through the import tool.

The data folder is ``LOTGRAPH_DATA_DIR`` (default ``./.lotgraph``); the server lives in its
``neo4j/`` folder. See docs/NEO4J.md.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from lotgraph import neo4j_local
from lotgraph.cli_support import JsonFlag, err, out, print_json, print_refused_bundle

neo4j_app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="A local, real Neo4j Community 5.26 on 127.0.0.1 (no Docker needed).",
)


def _note(message: str) -> None:
    typer.echo(message, err=True)


def _fail(exc: Exception) -> typer.Exit:
    typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
    return typer.Exit(1)


@neo4j_app.command()
def start(
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Start on an empty database (wipes the local data).")
    ] = False,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for Bolt to answer.", min=1)
    ] = 180,
) -> None:
    """Start the local Neo4j (fetching it from Maven Central the first time) and wait for it."""
    began = time.monotonic()
    try:
        info = neo4j_local.start(
            neo4j_local.default_data_dir(), fresh=fresh, timeout_s=timeout, log=_note
        )
        state = neo4j_local.status(neo4j_local.default_data_dir())
    except neo4j_local.Neo4jLocalError as exc:
        raise _fail(exc) from None
    typer.echo(
        f"Neo4j {state['version']} answers on {info.uri} as {info.user} "
        f"({time.monotonic() - began:.1f}s); password in {state['password_file']}"
    )
    typer.echo('Use it from a shell with: eval "$(lotgraph neo4j status --env)"')


@neo4j_app.command()
def stop() -> None:
    """Stop the local Neo4j (SIGTERM, then SIGKILL if it does not stop in time)."""
    try:
        stopped = neo4j_local.stop(neo4j_local.default_data_dir())
    except neo4j_local.Neo4jLocalError as exc:
        raise _fail(exc) from None
    typer.echo("stopped" if stopped else "no local Neo4j was running")


@neo4j_app.command()
def status(
    env: Annotated[
        bool, typer.Option("--env", help="Print shell `export NEO4J_...` lines for it.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Whether the local Neo4j runs, and where; --env prints its settings for a shell."""
    data_dir = neo4j_local.default_data_dir()
    try:
        if env:
            sys.stdout.write(neo4j_local.env_lines(data_dir))
            return
        state = neo4j_local.status(data_dir)
    except neo4j_local.Neo4jLocalError as exc:
        raise _fail(exc) from None
    if as_json:
        sys.stdout.write(json.dumps(state, indent=2) + "\n")
        return
    if state["running"]:
        pid = f", pid {state['pid']}" if state["pid"] else ""
        typer.echo(f"running: Neo4j {state['version']} on {state['uri']}{pid}")
    else:
        typer.echo("not running")
    typer.echo(f"home: {state['home']}")


@neo4j_app.command("import")
def import_bundle(
    bundle: Annotated[Path, typer.Argument(help="A bundle folder or .zip: the first load.")],
    as_json: JsonFlag = False,
    threads: Annotated[
        int, typer.Option(min=1, help="Threads of the import tool (default: the CPUs).")
    ] = os.cpu_count() or 2,
    off_heap: Annotated[
        str, typer.Option(help="The import tool's --max-off-heap-memory (e.g. 2g).")
    ] = "2g",
) -> None:
    """Load a first bundle into the EMPTY local Neo4j through neo4j-admin database import.

    The bundle goes through the loader (validation, rejections, placeholders, audit trail:
    as `lotgraph ingest`) into a private embedded store, whose graph the import tool then
    writes; the Neo4j store adopts the audit trail and the ingest record. Later bundles go
    through `lotgraph ingest`. Exit 0 when nothing was rejected, 1 when something was, 2 when
    the database holds data or the bundle is refused whole (nothing written either way)."""
    from ingest.bundle import BundleError
    from lotgraph.neo4j_import import DatabaseNotEmpty, first_load
    from lotgraph.settings import Settings

    if not bundle.exists():
        err.print(f"[red]error:[/] {bundle}: no such file or folder")
        raise typer.Exit(2)
    settings = Settings()
    try:
        loaded = first_load(
            bundle,
            neo4j_local.default_data_dir(),
            actor=settings.actor_name(),
            limits=settings.api.bundle_limits(),
            threads=threads,
            off_heap=off_heap,
            log=_note,
        )
    except DatabaseNotEmpty as exc:
        err.print(f"[red]error:[/] {exc}")
        if as_json:
            print_json({"error": "conflict", "detail": str(exc)})
        raise typer.Exit(2) from None
    except BundleError as exc:
        print_refused_bundle(exc, as_json)
        raise typer.Exit(2) from None
    except neo4j_local.Neo4jLocalError as exc:
        raise _fail(exc) from None
    data = loaded.as_dict()
    if as_json:
        print_json(data)
    else:
        figures = data["neo4j_import"]
        out.print(
            f"rows read {data['rows_read']:,d}: accepted {data['accepted']:,d}, unchanged "
            f"{data['unchanged']:,d}, rejected {data['rejected']:,d}; "
            f"{figures['nodes']:,d} nodes and {figures['relationships']:,d} relationships "
            f"imported, {figures['audit_entries']:,d} audit entries adopted"
        )
        out.print("seconds: " + ", ".join(f"{k} {v}" for k, v in figures["seconds"].items()))
        out.print(f"unresolved placeholders: {data['unresolved']}  ingest id: {data['ingest_id']}")
    raise typer.Exit(1 if data["rejected"] else 0)
