"""An embedded store's graph as CSV files for ``neo4j-admin database import`` (docs/NEO4J.md
"First loads").

Every node and relationship of the SQLite file is written in the import tool's CSV format
with exactly the properties ``Neo4jStore`` writes (same names, same types):

- a node: ``{**content, **provenance, id, content_fingerprint}`` (what ``SET n =`` stores);
- a placeholder: ``{**provenance, id, unresolved: true}``;
- a relationship: ``{**content, **provenance, key, content_fingerprint}``.

Neo4j keeps no null property, so nulls are left out. Rows are grouped into files by the
exact set of (property, type) they carry, so no cell is ever empty and every value keeps
its type (string, long, double, boolean). Text is always quoted, so ``""`` stays an empty
string. The audit trail, ingest records and accounts are not part of these files: the
Neo4j store adopts them through Cypher (``Neo4jStore.adopt_audit_trail``).
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from graph.model import FINGERPRINT, KEY, REL_KEY, UNRESOLVED

Log = Callable[[str], None]


def node_properties(
    node_id: str, props: str, prov: str, fp: str | None, unresolved: int
) -> dict[str, Any]:
    """A node's Neo4j property map, from its row of the embedded store's ``nodes`` table."""
    out: dict[str, Any]
    if unresolved:
        out = {**orjson.loads(prov), UNRESOLVED: True, KEY: node_id}
    else:
        out = {**orjson.loads(props), **orjson.loads(prov), KEY: node_id, FINGERPRINT: fp}
    return {k: v for k, v in out.items() if v is not None}


def rel_properties(props: str, prov: str, key: str, fp: str) -> dict[str, Any]:
    """A relationship's Neo4j property map: ``{**content, **provenance, key, fingerprint}``."""
    out = {**orjson.loads(props), **orjson.loads(prov), REL_KEY: key, FINGERPRINT: fp}
    return {k: v for k, v in out.items() if v is not None}


def _csv_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    raise TypeError(f"no CSV import type for {type(value).__name__} value {value!r}")


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _quoted(value)  # always quoted: "" is an empty string, never a missing value
    if isinstance(value, float):
        return repr(value)  # shortest text that parses back to the same double
    return str(value)


def _column(name: str, value: Any) -> str:
    if any(c in name for c in ':,"\n\r'):
        raise ValueError(f"property name {name!r} cannot be a CSV import header")
    return f"{name}:{_csv_type(value)}"


@dataclass
class _Group:
    path: Path
    handle: IO[str]
    names: tuple[str, ...]
    rows: int = 0


@dataclass
class ImportFiles:
    """The CSV files written, grouped as the import tool takes them."""

    folder: Path
    nodes: list[tuple[str, Path]] = field(default_factory=list)  # (label, file)
    rels: list[tuple[str, Path]] = field(default_factory=list)  # (type, file)
    node_count: int = 0
    rel_count: int = 0
    multiline: bool = False  # some text holds a line break (the tool must be told)
    seconds: float = 0.0
    bytes: int = 0


class _Writer:
    """Files per (kind, label or type, ends, property signature), opened on first use."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.groups: dict[tuple[Any, ...], _Group] = {}
        self.multiline = False

    def write(
        self, kind: tuple[str, ...], head: list[str], ids: list[str], props: dict[str, Any]
    ) -> None:
        names = tuple(sorted(props))
        signature = (kind, tuple((n, _csv_type(props[n])) for n in names))
        group = self.groups.get(signature)
        if group is None:
            path = self.folder / f"{'-'.join(kind)}-{len(self.groups):04d}.csv"
            handle = open(path, "w", encoding="utf-8", newline="", buffering=1 << 20)  # noqa: SIM115
            handle.write(",".join([*head, *(_column(n, props[n]) for n in names)]) + "\n")
            group = self.groups[signature] = _Group(path, handle, names)
        cells = [_quoted(i) for i in ids]
        for name in names:
            value = props[name]
            if isinstance(value, str) and ("\n" in value or "\r" in value):
                self.multiline = True
            cells.append(_cell(value))
        group.handle.write(",".join(cells) + "\n")
        group.rows += 1

    def close(self) -> None:
        for group in self.groups.values():
            group.handle.close()


FIRST_LOAD_LABEL = "LotgraphFirstLoad"


def add_first_load_marker(files: ImportFiles, ingest_id: str) -> None:
    """Add the marker node of an unfinished first load to the files (graph/cypher/
    first_load_pending.cypher): the database the tool writes is marked incomplete from its
    first moment, until ``Neo4jStore.finish_first_load`` deletes the marker."""
    path = files.folder / "first-load-marker.csv"
    path.write_text(
        f"id:ID({FIRST_LOAD_LABEL}),ingest_id:string\npending,{_quoted(ingest_id)}\n",
        encoding="utf-8",
    )
    files.nodes.insert(0, (FIRST_LOAD_LABEL, path))


def export_graph(sqlite_path: Path, folder: Path, log: Log = print) -> ImportFiles:
    """Every node and relationship of the embedded store's file as import CSV files in
    ``folder`` (emptied first). The store must not be written meanwhile."""
    started = time.perf_counter()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    files = ImportFiles(folder)
    writer = _Writer(folder)
    conn = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    try:
        conn.execute("PRAGMA cache_size=-65536")
        nodes = conn.execute("SELECT label, id, props, prov, fp, unresolved FROM nodes")
        for label, node_id, props, prov, fp, unresolved in nodes:
            out = node_properties(node_id, props, prov, fp, unresolved)
            del out[KEY]  # the ID column is the id property
            writer.write(("nodes", label), [f"id:ID({label})"], [node_id], out)
            files.node_count += 1
        log(f"exported {files.node_count:,d} nodes in {time.perf_counter() - started:.0f} s")
        rels = conn.execute(
            "SELECT type, src_label, src_id, dst_label, dst_id, key, props, prov, fp FROM rels"
        )
        for rel_type, src_label, src, dst_label, dst, key, props, prov, fp in rels:
            writer.write(
                ("rels", rel_type, src_label, dst_label),
                [f":START_ID({src_label})", f":END_ID({dst_label})"],
                [src, dst],
                rel_properties(props, prov, key, fp),
            )
            files.rel_count += 1
    finally:
        conn.close()
        writer.close()
    for (kind, _), group in sorted(writer.groups.items(), key=lambda kv: str(kv[1].path)):
        if kind[0] == "nodes":
            files.nodes.append((kind[1], group.path))
        else:
            files.rels.append((kind[1], group.path))
        files.bytes += group.path.stat().st_size
    files.multiline = writer.multiline
    files.seconds = time.perf_counter() - started
    log(
        f"exported {files.rel_count:,d} relationships; {len(writer.groups)} files, "
        f"{files.bytes / 2**20:,.1f} MiB, {files.seconds:.0f} s"
    )
    return files
