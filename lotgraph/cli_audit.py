"""`lotgraph audit verify [--json]`: walk the hash-chained audit trail (DESIGN §6).

Exit 0 when every entry recomputes and links to the one before it up to the head the store
recorded, 1 when the chain is broken (``first_bad`` names the first entry that fails, or
the first seq missing), 2 when the store cannot be opened.
"""

from __future__ import annotations

import typer

from graph.audit_chain import verify_store
from lotgraph.cli_support import JsonFlag, open_cli_store, out, print_json

audit_app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="The append-only, hash-chained audit trail.",
)


@audit_app.command()
def verify(as_json: JsonFlag = False) -> None:
    """Check every entry of the audit trail: no edit, deletion, reordering or insertion."""
    with open_cli_store() as store:
        result = verify_store(store)
    data = result.as_dict()
    if as_json:
        print_json(data)
    elif result.ok:
        head = f"; last entry {result.head.seq}, hash {result.head.hash}" if result.head else ""
        out.print(f"[green]audit trail intact[/]: {result.entries} entries{head}")
    else:
        out.print(
            f"[red]audit trail broken[/] at seq {result.first_bad}: {result.reason} "
            f"({result.entries} entries read)"
        )
    raise typer.Exit(0 if result.ok else 1)
