"""Trace latency of the API on the embedded store: idle, then during a large ingest.

    python -m benchmarks.bench_reads_during_ingest [--lots 100000] [--seed 7]
        [--base-lots 2000] [--clients 4] [--idle-seconds 20] [--ingest api|cli] [--keep]

Sets up a fresh data folder under ``benchmarks/output/reads-during-ingest-<lots>-<seed>``:
a base plant of ``--base-lots`` lots (seed + 1) ingested with the CLI, an auditor and an
integrator account with API keys (``lotgraph users add``). Starts ``lotgraph serve
--host 127.0.0.1`` on it (embedded store, one worker, a random ``LOTGRAPH_SECRET_KEY``) and
runs ``--clients`` closed-loop keep-alive clients, each asking ``GET /lots/{id}/trace``
(forward and backward in turn) of a seeded sample of the base plant's lots, as soon as the
previous answer is read:

1. **idle**: for ``--idle-seconds``, nothing else running;
2. **during ingest**: for as long as an ingest of the ``--lots`` plant (generated as
   ``benchmarks.bench_ingest`` does, cached in ``benchmarks/output/plant-<lots>-<seed>``)
   runs: ``POST /ingest/bundles`` to the same server (``--ingest api``, the default: the
   ingest shares the serving process) or ``lotgraph ingest`` in another process
   (``--ingest cli``).

Prints p50, p99 and max trace latency (ms, from sending the request to reading the whole
answer) of both phases side by side, the number of traces and errors (any non-200), the
ingest's rows/s, and the target: p99 during the ingest <= 200 ms. Exit status 1 when a
request failed or the ingest did not succeed. Server output goes to ``serve.log`` in the
data folder, which is removed at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.bench_ingest import plant_folder
from benchmarks.bench_queries import percentile
from benchmarks.machine import describe

OUTPUT = Path(__file__).resolve().parent / "output"
HOST = "127.0.0.1"
TARGET_P99_MS = 200.0
SAMPLE_LOTS = 300


class BenchError(RuntimeError):
    """The benchmark cannot run (server does not start, an account cannot be made, ...)."""


@dataclass
class Phase:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        n = len(self.latencies_ms)
        return (
            f"{self.name:14s} traces={n:>7,d} errors={self.errors:>4d} "
            f"traces/s={n / self.seconds if self.seconds else 0:>7.1f} "
            f"p50={percentile(self.latencies_ms, 0.5):>8.1f} ms "
            f"p99={percentile(self.latencies_ms, 0.99):>8.1f} ms "
            f"max={max(self.latencies_ms, default=float('nan')):>8.1f} ms"
        )


def _lotgraph(env: dict[str, str], *args: str, stdin: str = "") -> str:
    done = subprocess.run(
        [sys.executable, "-m", "lotgraph", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode not in (0, 1):  # ingest: 1 = some rows rejected, still loaded
        raise BenchError(f"lotgraph {' '.join(args)}: exit {done.returncode}\n{done.stderr}")
    return done.stdout


def _api_key(env: dict[str, str], name: str, role: str) -> str:
    out = _lotgraph(env, "users", "add", name, "--role", role, "--api-key", "--json")
    return str(json.loads(out)["api_key"])


def _sample_paths(plant: Path, seed: int) -> list[str]:
    with (plant / "lots.csv").open(encoding="utf-8", newline="") as fh:
        lots = [row["lot_id"] for row in csv.DictReader(fh)]
    chosen = random.Random(seed).sample(lots, min(SAMPLE_LOTS, len(lots)))
    return [
        f"/lots/{urllib.parse.quote(lot, safe='')}/trace?direction="
        + ("forward" if n % 2 == 0 else "backward")
        for n, lot in enumerate(chosen)
    ]


def _zip(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.iterdir()):
            if path.is_file():
                zf.write(path, path.name)
    return target


class Load:
    """``clients`` threads, each on one keep-alive connection, tracing in a closed loop."""

    def __init__(self, port: int, key: str, paths: list[str], clients: int) -> None:
        self.port = port
        self.headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
        self.paths = paths
        self.clients = clients
        self.phase: Phase | None = None
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [
            threading.Thread(target=self._client, args=(i,), daemon=True) for i in range(clients)
        ]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def stop(self) -> None:
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=60)

    def _client(self, offset: int) -> None:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=120)
        n = offset * len(self.paths) // max(1, self.clients)
        while not self.stopping.is_set():
            path = self.paths[n % len(self.paths)]
            n += 1
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=self.headers)
                reply = conn.getresponse()
                reply.read()
                ok = reply.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(HOST, self.port, timeout=120)
                ok = False
            elapsed_ms = (time.perf_counter() - started) * 1000
            with self.lock:
                phase = self.phase
                if phase is None:
                    continue
                if ok:
                    phase.latencies_ms.append(elapsed_ms)
                else:
                    phase.errors += 1
        conn.close()

    def measure(self, phase: Phase, until: threading.Event | float) -> Phase:
        """Record into ``phase`` until the event is set (or for that many seconds)."""
        started = time.perf_counter()
        with self.lock:
            self.phase = phase
        if isinstance(until, threading.Event):
            until.wait()
        else:
            time.sleep(until)
        with self.lock:
            self.phase = None
        phase.seconds = time.perf_counter() - started
        return phase


def _serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lotgraph", "serve", "--host", HOST, "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"lotgraph serve exited {proc.returncode}; see {log}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=5)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.3)
    proc.terminate()
    raise BenchError(f"no answer from /health in 120 s; see {log}")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lots", type=int, default=100_000, help="lots of the plant ingested")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--base-lots", type=int, default=2_000, help="lots traced")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    parser.add_argument("--ingest", choices=("api", "cli"), default="api")
    parser.add_argument("--keep", action="store_true", help="keep the data folder")
    args = parser.parse_args()
    print(f"machine: {describe()}")
    base = plant_folder(args.base_lots, args.seed + 1)
    big = plant_folder(args.lots, args.seed)
    data = OUTPUT / f"reads-during-ingest-{args.lots}-{args.seed}"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    env = {
        **os.environ,
        "LOTGRAPH_DATA_DIR": str(data),
        "LOTGRAPH_STORE": "embedded",
        "LOTGRAPH_SECRET_KEY": secrets.token_urlsafe(48),
        "LOTGRAPH_MAX_BUNDLE_MB": "2000",
    }
    try:
        _lotgraph(env, "ingest", str(base))
        reader_key = _api_key(env, "bench-reader", "auditor")
        integrator_key = _api_key(env, "bench-etl", "integrator")
        bundle = _zip(big, data / "bundle.zip") if args.ingest == "api" else big
        port = _free_port()
        server = _serve(env, port, data / "serve.log")
        load = Load(port, reader_key, _sample_paths(base, args.seed), args.clients)
        try:
            load.start()
            time.sleep(2.0)  # warm-up: connections open, API keys verified and cached
            idle = load.measure(Phase("idle"), args.idle_seconds)
            finished = threading.Event()
            outcome: dict[str, object] = {}

            def ingest() -> None:
                started = time.perf_counter()
                try:
                    if args.ingest == "api":
                        conn = http.client.HTTPConnection(HOST, port, timeout=24 * 3600)
                        conn.request(
                            "POST",
                            "/ingest/bundles",
                            body=bundle.read_bytes(),
                            headers={
                                "Authorization": f"Bearer {integrator_key}",
                                "Content-Type": "application/zip",
                            },
                        )
                        reply = conn.getresponse()
                        body = reply.read()
                        outcome["status"] = reply.status
                        if reply.status == 200:
                            outcome["report"] = json.loads(body)
                        else:
                            outcome["error"] = body[:500].decode(errors="replace")
                    else:
                        out = _lotgraph(env, "ingest", str(bundle), "--json")
                        outcome["status"] = 200
                        outcome["report"] = json.loads(out)
                except (OSError, BenchError, ValueError) as exc:
                    outcome["error"] = str(exc)
                finally:
                    outcome["seconds"] = time.perf_counter() - started
                    finished.set()

            writer = threading.Thread(target=ingest)
            writer.start()
            during = load.measure(Phase("during ingest"), finished)
            writer.join()
        finally:
            load.stop()
            server.terminate()
            server.wait(timeout=60)
        report = outcome.get("report")
        seconds = float(outcome["seconds"])  # type: ignore[arg-type]
        print(f"clients={args.clients} base lots={args.base_lots} ingest={args.ingest}")
        print(idle.line())
        print(during.line())
        if isinstance(report, dict):
            rows = sum(int(f["rows_read"]) for f in report["files"].values())
            print(
                f"ingest of {args.lots:,d} lots: rows={rows:,d} seconds={seconds:.1f} "
                f"rows/s={rows / seconds:,.0f}"
            )
        else:
            print(f"ingest failed: {outcome.get('status')} {outcome.get('error')}")
        p99 = percentile(during.latencies_ms, 0.99)
        verdict = "met" if p99 <= TARGET_P99_MS else "NOT met"
        print(
            f"target: trace p99 during ingest <= {TARGET_P99_MS:.0f} ms: {verdict} ({p99:.1f} ms)"
        )
        failed = idle.errors or during.errors or not isinstance(report, dict)
        return 1 if failed else 0
    finally:
        if not args.keep:
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
