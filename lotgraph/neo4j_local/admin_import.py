"""``neo4j-admin database import full`` into the stopped local server (``lotgraph neo4j import``)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from graph.neo4j_bulk import ImportFiles
from lotgraph.neo4j_local.home import Home, locked, tail_of
from lotgraph.neo4j_local.java import find_java
from lotgraph.neo4j_local.process import neo4j_env, running_pid
from lotgraph.neo4j_local.settings import ADMIN_CLASS, DATABASE, JVM_OPTIONS, Log, Neo4jLocalError


def import_full(
    data_dir: Path, files: ImportFiles, *, threads: int, off_heap: str, log: Log | None = None
) -> float:
    """``neo4j-admin database import full`` of ``files`` into the stopped local server's
    database, replacing it (the caller has made sure it held nothing); seconds taken."""
    say = log or (lambda _msg: None)
    home = Home.of(data_dir)
    java, _ = find_java()
    with locked(home):
        pid = running_pid(home)
        if pid is not None:
            raise Neo4jLocalError(f"the local Neo4j runs (pid {pid}); stop it before an import")
        root = home.root.absolute()
        report = root / "logs" / "import.report"
        cmd = [
            str(java),
            "-Xms1g",
            "-Xmx2g",
            *JVM_OPTIONS,
            "-cp",
            f"{root / 'plugins'}/*:{root / 'lib'}/*",
            ADMIN_CLASS,
            "database",
            "import",
            "full",
            DATABASE,  # before --nodes/--relationships, which take every following argument
            "--overwrite-destination=true",
            "--id-type=string",
            "--bad-tolerance=0",
            "--skip-bad-relationships=false",
            "--skip-duplicate-nodes=false",
            "--ignore-empty-strings=false",
            "--trim-strings=false",
            f"--threads={threads}",
            f"--max-off-heap-memory={off_heap}",
            f"--report-file={report}",
        ]
        if files.multiline:
            cmd.append("--multiline-fields=true")
        cmd += [f"--nodes={label}={path.absolute()}" for label, path in files.nodes]
        cmd += [f"--relationships={kind}={path.absolute()}" for kind, path in files.rels]
        console = root / "logs" / "import.log"
        console.parent.mkdir(parents=True, exist_ok=True)
        say(f"neo4j-admin database import full ({len(files.nodes) + len(files.rels)} files)")
        started = time.monotonic()
        with console.open("wb") as out:
            done = subprocess.run(
                cmd,
                cwd=root,
                env=neo4j_env(home),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
        seconds = time.monotonic() - started
        if done.returncode != 0:
            raise Neo4jLocalError(
                f"neo4j-admin import failed (exit {done.returncode}); its log, {console}:\n"
                + tail_of(console, 12)
            )
        say(f"imported in {seconds:.0f} s")
        return seconds
