"""`lotgraph audit verify [--json]`: walk the hash-chained audit trail (DESIGN §6).

Exit 0 when every entry recomputes and links to the one before it up to the head the store
recorded, and every stored node and relationship is covered by an entry of the chain
(``coverage``: each row carries the write id of the batch that stored it, and so do that
batch's entries); 1 when the chain is broken (``first_bad`` names the first entry that
fails, or the first seq missing) or rows are uncovered (``coverage.uncovered`` counts
them, ``coverage.uncovered_rows`` names the first 100); 2 when the store cannot be opened.
"""

from __future__ import annotations

import typer

from graph.digest import verify_audit
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
        data = verify_audit(store)
    ok = bool(data["ok"])
    if as_json:
        print_json(data)
        raise typer.Exit(0 if ok else 1)
    head = data["head"]
    if data["chain_ok"]:
        last = f"; last entry {head['seq']}, hash {head['hash']}" if head else ""
        out.print(f"[green]audit trail intact[/]: {data['entries']} entries{last}")
    else:
        out.print(
            f"[red]audit trail broken[/] at seq {data['first_bad']}: {data['reason']} "
            f"({data['entries']} entries read)"
        )
    covered = data["coverage"]
    rows = f"{covered['nodes']} nodes and {covered['relationships']} relationships"
    if covered["uncovered"] == 0:
        out.print(f"[green]every stored row is covered[/] by an entry of the chain: {rows}")
    else:
        out.print(
            f"[red]{covered['uncovered']} stored rows are covered by no audit entry[/] "
            f"(covered: {rows}); first: {', '.join(covered['uncovered_rows'][:10])}"
        )
    raise typer.Exit(0 if ok else 1)
