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

from graph.audit_chain import verify_store
from graph.digest import coverage
from lotgraph.cli_support import JsonFlag, open_cli_store, out, print_json

audit_app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="The append-only, hash-chained audit trail.",
)


@audit_app.command()
def verify(as_json: JsonFlag = False) -> None:
    """Check every entry of the audit trail: no edit, deletion, reordering or insertion."""
    write_ids: set[str] = set()
    with open_cli_store() as store:
        result = verify_store(store, write_ids=write_ids)
        covered = coverage(store, write_ids)
    data = result.as_dict()
    data["coverage"] = covered.as_dict()
    ok = result.ok and covered.uncovered == 0
    data["ok"] = ok
    if as_json:
        print_json(data)
        raise typer.Exit(0 if ok else 1)
    if result.ok:
        head = f"; last entry {result.head.seq}, hash {result.head.hash}" if result.head else ""
        out.print(f"[green]audit trail intact[/]: {result.entries} entries{head}")
    else:
        out.print(
            f"[red]audit trail broken[/] at seq {result.first_bad}: {result.reason} "
            f"({result.entries} entries read)"
        )
    rows = f"{covered.nodes} nodes and {covered.relationships} relationships"
    if covered.uncovered == 0:
        out.print(f"[green]every stored row is covered[/] by an entry of the chain: {rows}")
    else:
        out.print(
            f"[red]{covered.uncovered} stored rows are covered by no audit entry[/] "
            f"(covered: {rows}); first: {', '.join(covered.uncovered_rows[:10])}"
        )
    raise typer.Exit(0 if ok else 1)
