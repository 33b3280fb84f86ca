"""The investigation commands: trace, documents, recall, impact, impurity, custody.

``--json`` prints the answer model as is (DESIGN §4); without it, readable tables. An
unknown root exits 1 naming it; a malformed option exits 2.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel
from rich.table import Column, Table

from lotgraph.cli_support import LOT_HELP, JsonFlag, err, lot_id, open_cli_store, out, print_json
from queries.custody import custody
from queries.documents import documents_for_lot, lots_for_document
from queries.errors import NotFound
from queries.impact import impact
from queries.impurity import DEFAULT_TOP, impurity
from queries.recall import recall
from queries.trace import Direction, trace

Answer = TypeVar("Answer", bound=BaseModel)
_ROWS = 40  # rows shown per table; --json has everything


def _run(question: Callable[..., Answer], *args: Any, **kwargs: Any) -> Answer:
    with open_cli_store() as store:
        try:
            return question(store, *args, **kwargs)
        except NotFound as exc:
            err.print(f"[red]error:[/] {exc}")
            raise typer.Exit(1) from None
        except ValueError as exc:
            err.print(f"[red]error:[/] {exc}")
            raise typer.Exit(2) from None


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    # ids fold onto a second line rather than lose their ends in a narrow terminal
    table = Table(
        *(Column(c, overflow="fold") for c in columns),
        title=f"{title} ({len(rows)})",
        title_justify="left",
    )
    for row in rows[:_ROWS]:
        table.add_row(*("-" if v is None else str(v) for v in row))
    out.print(table)
    if len(rows) > _ROWS:
        out.print(f"... {len(rows) - _ROWS} more (see --json)")


def _ids(name: str, values: list[str]) -> None:
    shown = ", ".join(values[:_ROWS]) + (" ..." if len(values) > _ROWS else "")
    out.print(f"{name} ({len(values)}): {shown or '-'}")


def trace_cmd(
    lot: Annotated[str, typer.Argument(help="The lot to trace." + LOT_HELP, parser=lot_id)],
    direction: Annotated[Direction, typer.Option(help="forward or backward.")] = Direction.FORWARD,
    as_json: JsonFlag = False,
) -> None:
    """Trace a lot forward (what it went into) or backward (where it came from)."""
    result = _run(trace, lot, direction)
    if as_json:
        print_json(result.model_dump(mode="json"))
        return
    out.print(f"{direction} trace of lot [b]{lot}[/]")
    for name in ("lots", "batches", "suppliers", "customers"):
        _ids(name, getattr(result, name))
    _table(
        "nodes by depth",
        ["depth", "label", "id", "site"],
        [[n.depth, n.label, n.id, n.site] for n in result.nodes],
    )


def documents_cmd(
    lot: Annotated[
        str | None, typer.Option("--lot", help="Documents of this lot." + LOT_HELP, parser=lot_id)
    ] = None,
    document: Annotated[
        str | None, typer.Option("--document", help="Lots of this document.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Documents that concern a lot, or lots a document concerns, each with its path."""
    if (lot is None) == (document is None):
        err.print("[red]error:[/] give exactly one of --lot or --document")
        raise typer.Exit(2)
    if lot is not None:
        by_lot = _run(documents_for_lot, lot)
        if as_json:
            print_json(by_lot.model_dump(mode="json"))
            return
        rows = [
            [d.document_id, d.kind, d.current_version, " | ".join(" → ".join(v) for v in d.via)]
            for d in by_lot.documents
        ]
        _table(f"documents of lot {lot}", ["document", "kind", "version", "via"], rows)
        return
    assert document is not None
    by_doc = _run(lots_for_document, document)
    if as_json:
        print_json(by_doc.model_dump(mode="json"))
        return
    rows = [[x.lot_id, x.status, " | ".join(" → ".join(v) for v in x.via)] for x in by_doc.lots]
    _table(f"lots of document {document}", ["lot", "status", "via"], rows)


def recall_cmd(
    lots: Annotated[
        list[str], typer.Argument(help="One or more lots to recall." + LOT_HELP, parser=lot_id)
    ],
    as_json: JsonFlag = False,
) -> None:
    """Recall scope: affected lots with quantities, batches, customers and mass balance."""
    result = _run(recall, lots)
    if as_json:
        print_json(result.model_dump(mode="json"))
        return
    out.print(f"recall of {', '.join(result.roots)}")
    _table(
        "mass balance",
        ["lot", "unit", "expected", "consumed", "shipped", "on hand", "accounted %", "shortfall"],
        [
            [
                m.lot,
                m.unit,
                m.expected,
                m.consumed,
                m.shipped,
                m.on_hand,
                m.percent_accounted,
                "[red]" + str(m.shortfall) if not m.balanced else m.shortfall,
            ]
            for m in result.mass_balance
        ],
    )
    _table(
        "customers",
        ["customer", "name", "quantity", "lots"],
        [[c.id, c.name, c.quantity, ", ".join(c.lots)] for c in result.customers],
    )
    _table(
        "lots",
        ["lot", "status", "site", "unit", "quantity", "consumed", "shipped", "on hand"],
        [
            [x.id, x.status, x.site, x.unit, x.quantity, x.consumed, x.shipped, x.on_hand]
            for x in result.lots
        ],
    )
    _ids("batches", [b.id for b in result.batches])
    _table(
        "open deviations",
        ["deviation", "severity", "status", "affects"],
        [[d.id, d.severity, d.status, ", ".join(d.affects)] for d in result.open_deviations],
    )
    _ids("documents to review", [d.id for d in result.documents])


def impact_cmd(
    supplier: Annotated[str, typer.Option("--supplier", help="The supplier.")],
    since: Annotated[
        str | None, typer.Option(help="Only lots created on or after this date.")
    ] = None,
    material: Annotated[str | None, typer.Option(help="Only lots of this material.")] = None,
    change: Annotated[
        str | None, typer.Option(help="A supplier change notice: its material and date.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """What a supplier's lots (since a date or change notice) reached downstream."""
    result = _run(impact, supplier, material_id=material, since=since, change_id=change)
    if as_json:
        print_json(result.model_dump(mode="json"))
        return
    out.print(
        f"impact of supplier [b]{supplier}[/]"
        + (f", material {result.material}" if result.material else "")
        + (f", since {result.since}" if result.since else "")
    )
    _table(
        "open batches (can still be stopped)",
        ["batch", "status", "site", "started"],
        [[b.id, b.status, b.site, b.started_at] for b in result.open_batches],
    )
    for name in ("lots", "direct_batches", "batches", "downstream_lots", "customers"):
        _ids(name, getattr(result, name))


class Flag(StrEnum):
    OOS = "oos"
    OOT = "oot"
    ANY = "any"


_FLAG_MEANS = {
    "oos": "out of specification",
    "oot": "out of trend (Nelson rules 1-4)",
    "any": "out of specification or out of trend",
}


def impurity_cmd(
    analyte: Annotated[str, typer.Option("--analyte", help="The analyte, e.g. 'Impurity B'.")],
    flag: Annotated[
        Flag, typer.Option(help="Which results flag a unit: oos, oot or any.")
    ] = Flag.ANY,
    baseline_until: Annotated[
        str | None,
        typer.Option(
            "--baseline-until",
            help="Control limits from the results tested before this date "
            "(default: the first 20 results of each series).",
        ),
    ] = None,
    top: Annotated[int, typer.Option(min=1, help="How many factors to list.")] = DEFAULT_TOP,
    as_json: JsonFlag = False,
) -> None:
    """Which upstream factors the units with a flagged result have in common."""
    result = _run(impurity, analyte, flag.value, baseline_until, top)
    if as_json:
        print_json(result.model_dump(mode="json"))
        return
    out.print(
        f"{analyte}: {result.units_flagged} of {result.units_tested} tested units flagged "
        f"({_FLAG_MEANS[result.flag]}); {result.factors_tested} upstream factors tested"
    )
    _table(
        "control charts (product / method)",
        ["series", "results", "baseline", "centre", "control limits", "oos", "oot", "note"],
        [
            [
                s.label,
                s.results,
                s.baseline_points,
                _number(s.centre),
                f"{_number(s.lower_control)} .. {_number(s.upper_control)}"
                if s.evaluated
                else None,
                s.oos,
                s.oot,
                s.note,
            ]
            for s in result.series
        ],
    )
    _table(
        "factors, strongest first",
        ["kind", "id", "supplier lot", "depth", "flagged with it", "units with it", "lift"]
        + ["p", "q"],
        [
            [
                f.kind,
                f.id,
                f.supplier_lot,
                f.depth,
                f.affected,
                f.total,
                "only in flagged units" if f.lift is None else f"{f.lift:.3g}",
                readable_p(f.score),
                readable_p(f.q_score),
            ]
            for f in result.factors
        ],
    )
    out.print(
        "p: how likely this many flagged units share the factor by chance; q: p corrected "
        f"for testing {result.factors_tested} factors at once (Benjamini-Hochberg), the "
        "expected share of false leads among factors this strong or stronger."
    )


def readable_p(score: float) -> str:
    """A p-value from its score (-log10 p), readable however small it is."""
    if score <= 0:
        return "1"
    if score < 4:
        return f"{10**-score:.2g}"
    exponent = math.ceil(score)
    mantissa = 10 ** (exponent - score)  # in [1, 10)
    if round(mantissa, 1) >= 10:
        mantissa, exponent = mantissa / 10, exponent - 1
    return f"{mantissa:.1f}e-{exponent}"


def _number(value: float | None) -> str | None:
    return None if value is None else f"{value:.4g}"


def custody_cmd(
    batch: Annotated[str, typer.Argument(help="The batch.")],
    as_json: JsonFlag = False,
) -> None:
    """Chain of custody of a batch: timeline, signatures with status, findings."""
    result = _run(custody, batch)
    data = result.model_dump(mode="json")
    if as_json:
        print_json(data)
        return
    out.print(f"chain of custody of batch [b]{batch}[/]")
    _table(
        "events",
        ["at", "kind", "id", "detail"],
        [
            [
                e.get("at"),
                e.get("kind"),
                e.get("id"),
                ", ".join(f"{k}={v}" for k, v in e.items() if k not in ("at", "kind", "id") and v),
            ]
            for e in data["events"]
        ],
    )
    _table(
        "signatures",
        ["signature", "document", "version", "signer", "meaning", "signed at", "status"],
        [
            [
                s["signature_id"],
                s["document_id"],
                s["document_version"],
                s["signer_id"],
                s["meaning"],
                s["signed_at"],
                s["status"],
            ]
            for s in data["signatures"]
        ],
    )
    _table(
        "findings",
        ["kind", "id", "detail"],
        [[f.get("kind"), f.get("id"), f.get("detail")] for f in data["findings"]],
    )


def register_investigations(app: typer.Typer) -> None:
    app.command("trace")(trace_cmd)
    app.command("documents")(documents_cmd)
    app.command("recall")(recall_cmd)
    app.command("impact")(impact_cmd)
    app.command("impurity")(impurity_cmd)
    app.command("custody")(custody_cmd)
