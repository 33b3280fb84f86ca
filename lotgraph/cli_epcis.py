"""`lotgraph epcis export`: a lot's trace as a GS1 EPCIS 2.0 JSON-LD document
(queries/epcis_export.py; docs/EPCIS.md "Export")."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from lotgraph.cli_support import (
    LOT_HELP,
    JsonFlag,
    err,
    lot_id,
    open_cli_store,
    out,
    print_json,
    write_atomically,
)
from queries.epcis_export import export_trace, render
from queries.errors import NotFound
from queries.trace import Direction

epcis_app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="GS1 EPCIS 2.0 interchange.",
)


@epcis_app.command()
def export(
    lot: Annotated[
        str, typer.Option("--lot", help="The lot whose trace to export." + LOT_HELP, parser=lot_id)
    ],
    out_path: Annotated[
        Path,
        typer.Option(
            "--out", help="The .jsonld file to write (its folder must exist); - for stdout."
        ),
    ],
    direction: Annotated[Direction, typer.Option(help="forward or backward.")] = Direction.FORWARD,
    as_json: JsonFlag = False,
) -> None:
    """Write the trace of a lot as an EPCIS 2.0 JSON-LD EPCISDocument: a TransformationEvent
    per batch, a shipping ObjectEvent per shipment, movements, lot creation, and master data
    for lots, materials, sites, suppliers and customers. Exit 0; 1 for an unknown lot; 2 on
    bad usage."""
    to_stdout = str(out_path) == "-"
    if not to_stdout and out_path.is_dir():
        _usage(f"--out {out_path} is a folder; name the .jsonld file to write")
    if not to_stdout and not out_path.parent.is_dir():
        _usage(f"--out {out_path}: no folder {out_path.parent}")
    with open_cli_store() as store:
        try:
            document = export_trace(store, lot, direction)
        except NotFound as exc:
            err.print(f"[red]error:[/] {exc}")
            raise typer.Exit(1) from None
    content = render(document)
    if to_stdout:
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
        return
    write_atomically(out_path, content)
    summary = {
        "path": str(out_path),
        "lot": lot,
        "direction": str(direction),
        "events": len(document["epcisBody"]["eventList"]),
        "bytes": len(content),
    }
    if as_json:
        print_json(summary)
    else:
        out.print(
            f"{out_path}: {summary['events']} EPCIS events, {direction} trace of lot {lot}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def _usage(why: str) -> NoReturn:
    err.print(f"[red]error:[/] {why}")
    raise typer.Exit(2)
