"""Neo4j's jars, fetched once from Maven Central with ``mvn`` (``neo4j_runtime/pom.xml``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

from lotgraph.neo4j_local.home import Home
from lotgraph.neo4j_local.settings import Log, Neo4jLocalError

POM = Path(__file__).resolve().parent.parent / "neo4j_runtime" / "pom.xml"
VERSION_MARKER = ".lotgraph-neo4j-version"


def runtime_version() -> str:
    """The Neo4j version ``neo4j_runtime/pom.xml`` asks for."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    node = ET.parse(POM).getroot().find("m:properties/m:neo4j.version", ns)
    if node is None or not (node.text or "").strip():
        raise Neo4jLocalError(f"{POM} has no neo4j.version property")
    return (node.text or "").strip()


def ensure_jars(home: Home, java: Path, say: Log) -> str:
    version = runtime_version()
    if installed_version(home) == version:
        return version
    mvn = shutil.which("mvn")
    if mvn is None:
        raise Neo4jLocalError(
            "Maven (mvn) is needed once to fetch Neo4j's jars from Maven Central "
            "(Debian/Ubuntu: apt-get install maven)"
        )
    build = home.root / "build"
    build.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(POM, build / "pom.xml")
    partial = home.root / "lib.partial"
    shutil.rmtree(partial, ignore_errors=True)
    home.logs.mkdir(parents=True, exist_ok=True)
    maven_log = home.logs / "maven.log"
    say(f"fetching Neo4j {version} jars from Maven Central into {home.lib} (once; ~125 MB)")
    env = dict(os.environ, JAVA_HOME=str(java.resolve().parent.parent))
    cmd = [
        mvn,
        "-q",
        "-B",
        "-Dstyle.color=never",
        "-f",
        str(build / "pom.xml"),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={partial}",
        "-DincludeScope=runtime",
    ]
    with open(maven_log, "wb") as out:
        try:
            rc = subprocess.run(
                cmd,
                cwd=build,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=1800,
                check=False,
            ).returncode
        except subprocess.TimeoutExpired:
            rc = -1
    if rc != 0 or not (partial / f"neo4j-{version}.jar").is_file():
        raise Neo4jLocalError(
            f"fetching Neo4j {version} from Maven Central failed (mvn exit {rc}); see {maven_log}"
        )
    shutil.rmtree(home.lib, ignore_errors=True)
    partial.rename(home.lib)
    (home.lib / VERSION_MARKER).write_text(version + "\n")
    return version


def installed_version(home: Home) -> str | None:
    marker = home.lib / VERSION_MARKER
    try:
        return marker.read_text().strip() or None
    except OSError:
        return None
