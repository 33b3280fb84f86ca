"""Finding a Java that Neo4j 5.26 runs on."""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from pathlib import Path

from lotgraph.neo4j_local.settings import SUPPORTED_JAVA, Neo4jLocalError


def find_java() -> tuple[Path, int]:
    """A Java that Neo4j 5.26 runs on: JAVA_HOME's, the one on PATH, then installed JVMs."""
    candidates: list[str] = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(str(Path(os.environ["JAVA_HOME"]) / "bin" / "java"))
    on_path = shutil.which("java")
    if on_path:
        candidates.append(on_path)
    candidates += sorted(glob.glob("/usr/lib/jvm/*/bin/java"))
    candidates += sorted(glob.glob("/Library/Java/JavaVirtualMachines/*/Contents/Home/bin/java"))
    found: list[str] = []
    seen: set[Path] = set()
    for candidate in candidates:
        path = Path(candidate)
        if not path.is_file() or path.resolve() in seen:
            continue
        seen.add(path.resolve())
        major = _java_major(path)
        found.append(f"{path} (Java {major if major else '?'})")
        if major in SUPPORTED_JAVA:
            return path, major
    raise Neo4jLocalError(
        "Neo4j 5.26 needs Java 17 (or 21); "
        + (f"found only: {', '.join(found)}" if found else "no java was found")
        + ". Install a Java 17 runtime (Debian/Ubuntu: apt-get install openjdk-17-jre-headless) "
        "or point JAVA_HOME at one."
    )


def _java_major(java: Path) -> int | None:
    try:
        done = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr + done.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major
