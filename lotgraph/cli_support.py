"""What every CLI command shares: the consoles, the JSON printer and the store."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from graph.identifiers import to_class_urn
from graph.store import GraphStore
from ingest.bundle import BundleError, BundleTooLarge
from lotgraph.settings import Settings
from lotgraph.stores import StoreUnavailable, open_store

out = Console()
err = Console(stderr=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print the machine-readable answer.")]


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=False, ensure_ascii=False) + "\n")


@contextmanager
def open_cli_store(settings: Settings | None = None) -> Iterator[GraphStore]:
    """The configured store for one command; exit 2 naming why when it cannot be opened."""
    try:
        store = open_store(settings or Settings())
    except StoreUnavailable as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    try:
        yield store
    finally:
        store.close()


def write_atomically(target: Path, content: bytes) -> None:
    """Write beside the target and rename: a reader never sees half a file."""
    fd, partial = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


LOT_HELP = " A GS1 Digital Link (https://id.gs1.org/01/GTIN/10/LOT, any host) names its lot."


def lot_id(value: str) -> str:
    """A lot as given on the command line: its id, or its GS1 Digital Link, read as the lot's
    EPC class URN (docs/EPCIS.md "GS1 identifiers")."""
    return to_class_urn(value)


def print_refused_bundle(exc: BundleError, as_json: bool) -> None:
    """A bundle refused whole: each problem on stderr (and the API's body with --json)."""
    what = "exceeds a limit" if isinstance(exc, BundleTooLarge) else "refused"
    err.print(f"[red]error:[/] the bundle {what}; nothing was written")
    for problem in exc.problems:
        err.print(f"  {escape(str(problem))}")
    if exc.omitted:
        err.print(f"  and {exc.omitted} more problems")
    if as_json:
        code = "payload_too_large" if isinstance(exc, BundleTooLarge) else "bad_request"
        problems = [p.as_dict() for p in exc.problems]
        print_json({"error": code, "detail": str(exc), "problems": problems})
