"""The `lotgraph` command line; `--json` output is the machine contract (DESIGN §4)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ingest.bundle import BundleError
from ingest.loader import DEFAULT_CHUNK_ROWS, ingest_bundle
from lotgraph.cli_api import serve, users_app
from lotgraph.cli_audit import audit_app
from lotgraph.cli_dashboard import dashboard, demo
from lotgraph.cli_epcis import epcis_app
from lotgraph.cli_evidence import evidence
from lotgraph.cli_investigations import register_investigations
from lotgraph.cli_neo4j import neo4j_app
from lotgraph.cli_support import (
    JsonFlag,
    err,
    open_cli_store,
    out,
    print_json,
    print_refused_bundle,
)
from lotgraph.settings import Settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
app.add_typer(neo4j_app, name="neo4j", help="A local Neo4j on 127.0.0.1 (no Docker needed).")
register_investigations(app)
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.add_typer(epcis_app, name="epcis")
app.command()(serve)
app.command()(dashboard)
app.command()(demo)
app.command()(evidence)


@app.command()
def generate(
    lots: Annotated[int, typer.Option(min=1, help="Number of lots in the plant.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the bundle to.")],
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same bytes.")] = 1,
    impurity_depth: Annotated[
        int,
        typer.Option(
            min=1,
            max=3,
            help="Generations between the planted impurity cause (a supplier lot) and the "
            "batches it drives out of specification: 1, 2 or 3.",
        ),
    ] = 1,
    as_json: JsonFlag = False,
) -> None:
    """Write a synthetic plant as a canonical bundle."""
    from ingest.synthetic import generate_plant

    summary = generate_plant(lots=lots, seed=seed, out=out_dir, impurity_depth=impurity_depth)
    if as_json:
        print_json({**asdict(summary), "out": str(summary.out)})
    else:
        out.print(
            f"wrote a plant of {lots} lots (seed {seed}, impurity depth {impurity_depth}) "
            f"to {out_dir}"
        )


@app.command()
def ingest(
    path: Annotated[
        Path,
        typer.Argument(
            help="A bundle folder or .zip, or an EPCIS document (.json, .jsonld, .xml)."
        ),
    ],
    as_json: JsonFlag = False,
    chunk_rows: Annotated[
        int,
        typer.Option(min=1, help="Rows per write transaction (each with its own audit entry)."),
    ] = DEFAULT_CHUNK_ROWS,
) -> None:
    """Load a bundle or an EPCIS document. Exit 0 when nothing was rejected, 1 when something
    was, 2 on bad usage or input refused whole (its structure, or a limit), which writes
    nothing."""
    if not path.exists():
        err.print(f"[red]error:[/] {path}: no such file or folder")
        raise typer.Exit(2)
    settings = Settings()
    if path.is_file() and path.suffix.lower() in EPCIS_SUFFIXES:
        _ingest_epcis_file(path, settings, as_json)
    with open_cli_store(settings) as store, _progress() as progress:
        try:
            report = ingest_bundle(
                store,
                path,
                actor=settings.actor_name(),
                chunk_rows=chunk_rows,
                limits=settings.api.bundle_limits(),
                on_scanned=progress.start if progress else None,
                progress=progress.advance if progress else None,
                pause_gc=True,  # a CLI ingest is the process's only work
            )
        except BundleError as exc:
            print_refused_bundle(exc, as_json)
            raise typer.Exit(2) from None
    data = report.as_dict()
    if as_json:
        print_json(data)
    else:
        table = Table("file", "rows read", "accepted", "unchanged", "rejected", "updated")
        for name, c in data["files"].items():
            table.add_row(
                name,
                *(str(c[k]) for k in ("rows_read", "accepted", "unchanged", "rejected", "updated")),
            )
        table.add_row(
            "[b]total",
            *(
                f"[b]{data[k]}"
                for k in ("rows_read", "accepted", "unchanged", "rejected", "updated")
            ),
        )
        out.print(table)
        for rej in data["rejections"][:50]:
            out.print(f"rejected {rej['file']} row {rej['row']} [{rej['column']}]: {rej['reason']}")
        if len(data["rejections"]) > 50:
            out.print(f"... and {len(data['rejections']) - 50} more (see --json)")
        out.print(f"unresolved placeholders: {data['unresolved']}  ingest id: {data['ingest_id']}")
    raise typer.Exit(1 if data["rejected"] else 0)


EPCIS_SUFFIXES = (".json", ".jsonld", ".xml")


def _ingest_epcis_file(path: Path, settings: Settings, as_json: bool) -> None:
    """`lotgraph ingest FILE.json|.jsonld|.xml`: an EPCIS document through the bundle loader."""
    from ingest.epcis.document import read_document
    from ingest.epcis.importer import TooManyRecords, ingest_epcis
    from ingest.epcis.model import EpcisError

    try:
        document = read_document(path.read_bytes(), name=path.name)
    except EpcisError as exc:
        err.print(
            f"[red]error:[/] {escape(path.name)}: not read, nothing was written: {escape(str(exc))}"
        )
        if as_json:
            print_json({"error": "bad_request", "detail": f"{path.name}: {exc}"})
        raise typer.Exit(2) from None
    with open_cli_store(settings) as store:
        try:
            report = ingest_epcis(
                store,
                document,
                actor=settings.actor_name(),
                label=f"epcis:{path.name}",
                max_rows=settings.api.max_bundle_rows,
                pause_gc=True,
            )
        except TooManyRecords as exc:
            err.print(f"[red]error:[/] {escape(path.name)}: {exc}; nothing was written")
            if as_json:
                print_json({"error": "payload_too_large", "detail": str(exc)})
            raise typer.Exit(2) from None
    data = report.as_dict()
    events = data["events"]
    if as_json:
        print_json(data)
    else:
        out.print(
            f"events read {events['read']}: accepted {events['accepted']}, unchanged "
            f"{events['unchanged']}, rejected {events['rejected']} "
            f"({len(events['not_mapped'])} without a graph meaning, "
            f"{len(events.get('partly_mapped', []))} with objects of no known lot)"
        )
        out.print(
            f"records {data['rows_read']}: accepted {data['accepted']}, unchanged "
            f"{data['unchanged']}, rejected {data['rejected']}, updated {data['updated']}"
        )
        for rej in data["rejections"][:50]:
            out.print(
                escape(
                    f"rejected {rej['file']} row {rej['row']} [{rej['column']}]: {rej['reason']}"
                )
            )
        if len(data["rejections"]) > 50:
            out.print(f"... and {len(data['rejections']) - 50} more (see --json)")
        out.print(f"unresolved placeholders: {data['unresolved']}  ingest id: {data['ingest_id']}")
    raise typer.Exit(1 if data["rejected"] or events["rejected"] else 0)


class _Bar:
    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task = progress.add_task("ingest", total=None)

    def start(self, total: int) -> None:
        self._progress.update(self._task, total=total)

    def advance(self, rows: int) -> None:
        self._progress.advance(self._task, rows)


@contextmanager
def _progress() -> Iterator[_Bar | None]:
    """A progress bar on a terminal; nothing when output is piped."""
    if not err.is_terminal:
        yield None
        return
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=True) as progress:
        yield _Bar(progress)


@app.command()
def stats(as_json: JsonFlag = False) -> None:
    """Node and relationship counts per label and type."""
    with open_cli_store() as store:
        data = store.stats().as_dict()
        data["content_sha256"] = store.content_sha256()
    if as_json:
        print_json(data)
        return
    table = Table("label / type", "count")
    for k, v in data["nodes"].items():
        table.add_row(k, str(v))
    for k, v in data["relationships"].items():
        table.add_row(f"[{k}]", str(v))
    out.print(table)
    out.print(f"unresolved placeholders: {data['unresolved']}")
    out.print(f"content sha256: {data['content_sha256']}")


def main() -> None:  # pragma: no cover
    app()
