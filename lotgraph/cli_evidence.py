"""`lotgraph evidence`: build a lot's evidence package, or verify one (docs/EVIDENCE.md).

One command with two forms, because a positional LOT and a ``verify`` subcommand cannot
share a typer group: the first argument is either a lot id or the word ``verify``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer

from lotgraph.cli_support import (
    JsonFlag,
    err,
    lot_id,
    open_cli_store,
    out,
    print_json,
    write_atomically,
)
from lotgraph.settings import Settings
from queries.errors import NotFound
from queries.evidence import EvidenceCheck, EvidenceUnreadable, build_evidence, verify_evidence

_USAGE = "usage: lotgraph evidence LOT --out FILE.zip | lotgraph evidence verify FILE.zip"


def evidence(
    args: Annotated[
        list[str],
        typer.Argument(
            metavar="LOT | verify FILE.zip",
            help="A lot id to build its package (or its GS1 Digital Link), or `verify` and a package "
            "to check.",
            show_default=False,
        ),
    ],
    out_path: Annotated[
        Path | None,
        typer.Option("--out", help="Build: the .zip to write (its folder must exist)."),
    ] = None,
    manifest_sha256: Annotated[
        str | None,
        typer.Option(
            "--manifest-sha256",
            help="Verify: the manifest.json SHA-256 recorded when the package was made.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Build a lot's evidence package, or verify one.

    `lotgraph evidence LOT --out FILE.zip` writes the package (the recall as JSON and CSV, the trace as GraphML, documents and signatures, the audit extract, an HTML report, and manifest.json with every file's SHA-256) and prints its path and the SHA-256 of manifest.json: record that hash elsewhere, since the manifest cannot hold its own. Exit 0; 1 for an unknown lot; 2 on bad usage.

    `lotgraph evidence verify FILE.zip [--manifest-sha256 HEX]` checks every file against the manifest (and the manifest against the recorded hash): exit 0 when intact; 1 naming each changed, missing or added file; 2 when FILE cannot be read as a zip.
    """
    if args[0] == "verify" and (len(args) == 2 or out_path is None):
        if len(args) != 2 or out_path is not None:
            _usage("verify takes one FILE.zip and no --out")
        _verify(Path(args[1]), manifest_sha256, as_json)
        return
    if len(args) != 1:
        _usage("build one lot at a time")
    if out_path is None:
        _usage("--out FILE.zip is required to build a package")
    if manifest_sha256 is not None:
        _usage("--manifest-sha256 is for verify")
    _build(lot_id(args[0]), out_path, as_json)


def _usage(why: str) -> NoReturn:
    err.print(f"[red]error:[/] {why}\n{_USAGE}")
    raise typer.Exit(2)


def _build(lot_id: str, target: Path, as_json: bool) -> None:
    if target.is_dir():
        _usage(f"--out {target} is a folder; name the .zip to write")
    if not target.parent.is_dir():
        _usage(f"--out {target}: no folder {target.parent}")
    creator = Settings().actor_name()
    with open_cli_store() as store:
        try:
            content = build_evidence(store, lot_id, creator=creator)
        except NotFound as exc:
            err.print(f"[red]error:[/] {exc}")
            raise typer.Exit(1) from None
    write_atomically(target, content)
    check = verify_evidence(target)
    if as_json:
        print_json(
            {
                "path": str(target),
                "lot": check.lot,
                "created_at": check.created_at,
                "created_by": check.created_by,
                "manifest_sha256": check.manifest_sha256,
                "ok": check.ok,
            }
        )
    else:
        out.print(str(target), markup=False, highlight=False, soft_wrap=True)
        out.print(f"manifest.json SHA-256: {check.manifest_sha256}", markup=False, highlight=False)
    if not check.ok:  # pragma: no cover - a package that fails its own check is a bug
        raise typer.Exit(1)


def _verify(path: Path, manifest_sha256: str | None, as_json: bool) -> None:
    if not path.is_file():
        _usage(f"{path}: no such file")
    try:
        check: EvidenceCheck = verify_evidence(path, manifest_sha256=manifest_sha256)
    except EvidenceUnreadable as exc:
        err.print(f"[red]error:[/] {path}: {exc}")
        raise typer.Exit(2) from None
    if as_json:
        print_json(check.model_dump(mode="json"))
    elif check.ok:
        out.print(
            f"ok: {path}: every file matches manifest.json (lot {check.lot}, created "
            f"{check.created_at} by {check.created_by})",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        out.print(f"manifest.json SHA-256: {check.manifest_sha256}", markup=False, highlight=False)
    else:
        for p in check.problems:
            out.print(
                f"{p.problem}: {p.file} ({p.detail})", markup=False, highlight=False, soft_wrap=True
            )
        out.print(f"NOT OK: {path}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(0 if check.ok else 1)
