"""HTTP API under load: concurrent clients against trace and recall, on both stores.

    python -m benchmarks.bench_api_load [--lots 100000] [--seed 7] [--stores embedded,neo4j]
        [--seconds 60] [--warmup 5] [--clients 32] [--workers 2] [--sample 300]
        [--account bench-api] [--keep-neo4j]

For each store and each ``--workers`` count (a comma-separated list is measured in turn), this
starts ``lotgraph serve --host 127.0.0.1 --port P --workers N`` as a subprocess with a fresh
random ``LOTGRAPH_SECRET_KEY``, waits for ``GET /health``, signs in as an auditor account
(``lotgraph users add bench-api --role auditor --password-stdin``, or ``users rotate`` when it
exists; a new random password every run, so two runs at once need two ``--account`` names),
and then runs ``--clients`` keep-alive HTTP/1.1 connections on loopback: first a warm-up
(every distinct request once, then ``--warmup`` seconds of the load below, nothing
recorded), then ``--seconds`` seconds in which each connection sends its next request as soon
as the previous answer is read (a closed loop). The server is stopped at the end, also on
errors and Ctrl-C.

Inputs (the same as ``benchmarks.bench_queries``):

* the embedded store ``benchmarks/output/embedded-<lots>-<seed>/graph.sqlite``
  (``LOTGRAPH_DATA_DIR`` is its folder);
* the Neo4j database ``benchmarks/output/neo4j-<lots>-<seed>`` that ``python -m
  benchmarks.neo4j_bulk --lots <lots>`` built from that store (not rebuilt here), served on
  the benchmarks' own ports (7741/7541, 4g heap, 4g page cache unless set) and stopped at the
  end unless ``--keep-neo4j``.

The server writes to them what any API deployment writes: the account (and its audit
entry) and one access-audit entry per request; the graph is not changed. Server output goes
to ``benchmarks/output/bench-api-<store>-w<workers>.log``.

Requests: ``--sample`` typical lots, chosen as ``bench_queries`` chooses them (a seeded
uniform sample, ``benchmarks.baselines.sample_lots``); for each lot one trace (forward for
every other lot, backward for the rest) and one single-lot recall, so half traces and half
recalls. The list is shuffled by the seed and each client walks it from its own offset.

Printed per store and worker count: requests, requests/s, p50, p99 and max latency (ms, from
writing the request to reading the whole answer, so queueing in the server is included),
errors (any non-2xx answer or connection error), the same split by trace and recall, and
the CPU seconds, during the measured window, of the client, the server's processes (and of
each worker), the Neo4j server, and every other process on the machine (to show whether
the machine was shared). Exit status 1 when a request failed or the run could not start.

The client is deliberately small, because it shares the cores with the server: one
asyncio stream per connection (on uvloop when it is installed), requests pre-encoded as
bytes, answers read by their Content-Length (or chunked transfer coding) without parsing
the JSON: about 0.2 ms of CPU per request.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.baselines import sample_lots
from benchmarks.bench_queries import percentile
from benchmarks.machine import describe
from benchmarks.neo4j_bulk import bench_environment, built_from, default_paths
from benchmarks.targets import TARGETS_BY_KEY, record
from lotgraph import neo4j_local

ACCOUNT = "bench-api"
HOST = "127.0.0.1"
TARGET_RPS = {store: TARGETS_BY_KEY[f"api.{store}.rps"].goal for store in ("embedded", "neo4j")}
TARGET_P99_MS = {
    store: TARGETS_BY_KEY[f"api.{store}.p99_ms"].goal for store in ("embedded", "neo4j")
}
TOKEN_MINUTES = 240  # the whole run on one token
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0


class BenchError(RuntimeError):
    """The benchmark cannot run (server does not start, sign-in refused, ...)."""


# -- the requests ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Request:
    kind: str  # trace | recall
    raw: bytes  # the whole HTTP/1.1 request


def build_requests(lots: list[str], host: str, token: str, seed: int) -> list[Request]:
    common = f"Host: {host}\r\nAuthorization: Bearer {token}\r\nAccept: application/json\r\n"
    out: list[Request] = []
    for n, lot_id in enumerate(lots):
        quoted = urllib.parse.quote(lot_id, safe="")
        direction = "forward" if n % 2 == 0 else "backward"
        trace = f"GET /lots/{quoted}/trace?direction={direction} HTTP/1.1\r\n{common}\r\n"
        out.append(Request("trace", trace.encode()))
        body = json.dumps({"lot_ids": [lot_id]}).encode()
        recall = (
            f"POST /investigations/recall HTTP/1.1\r\n{common}Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        out.append(Request("recall", recall))
    random.Random(seed).shuffle(out)
    return out


# -- a minimal keep-alive HTTP/1.1 client ------------------------------------------------------
class ProtocolError(RuntimeError):
    pass


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, keep the connection) of one response; the body is not parsed."""
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1."):
        raise ProtocolError(f"not an HTTP/1.x response: {head[:40]!r}")
    status = int(head[9:12])
    lower = head.lower()
    close = b"\r\nconnection: close" in lower
    at = lower.find(b"\r\ncontent-length:")
    if at >= 0:
        end = lower.index(b"\r\n", at + 2)
        body = await reader.readexactly(int(lower[at + 17 : end]))
    elif b"\r\ntransfer-encoding: chunked" in lower:
        parts = []
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                    pass
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(parts)
    elif status in (204, 304) or 100 <= status < 200:
        body = b""
    else:
        raise ProtocolError("response without Content-Length or chunked transfer coding")
    return status, body, not close


@dataclass
class Tally:
    """What the clients saw in the measured window."""

    latencies_ms: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)  # the first few errors, for the reader
    warmup_requests: int = 0
    warmup_errors: int = 0
    prime_seconds: float = 0.0
    last_done: float = 0.0

    def error(self, kind: str, text: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if len(self.samples) < 5:
            self.samples.append(f"{kind}: {text}")


class Connection:
    """One keep-alive connection, reopened after an error or a ``Connection: close``."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def exchange(self, raw: bytes) -> str | None:
        """Send one request and read its whole answer; what failed, or None."""
        keep = False
        try:
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
            assert self.reader is not None
            self.writer.write(raw)
            status, body, keep = await read_response(self.reader)
            failed = None if 200 <= status < 300 else f"HTTP {status} {body[:200]!r}"
        except (
            OSError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ProtocolError,
            ValueError,
        ) as exc:
            failed = f"{type(exc).__name__}: {exc}"
        if not keep:
            self.close()
        return failed

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def prime(port: int, shared: Iterator[Request], tally: Tally) -> None:
    """Warm-up, first part: every distinct request once (the clients share one iterator)."""
    conn = Connection(port)
    try:
        for req in shared:
            failed = await conn.exchange(req.raw)
            tally.warmup_requests += 1
            tally.warmup_errors += failed is not None
    finally:
        conn.close()


async def client(
    port: int,
    requests: list[Request],
    offset: int,
    measure_from: float,
    stop_at: float,
    tally: Tally,
) -> None:
    """Closed loop: the next request as soon as the last answer is read, until ``stop_at``."""
    clock = time.perf_counter
    conn = Connection(port)
    n = offset
    count = len(requests)
    try:
        while True:
            started = clock()
            if started >= stop_at:
                return
            req = requests[n % count]
            n += 1
            failed = await conn.exchange(req.raw)
            done = clock()
            if started < measure_from:
                tally.warmup_requests += 1
                tally.warmup_errors += failed is not None
                continue
            tally.last_done = max(tally.last_done, done)
            if failed is not None:
                tally.error(req.kind, failed)
            else:
                tally.latencies_ms.setdefault(req.kind, []).append((done - started) * 1000)
    finally:
        conn.close()


async def run_load(
    port: int,
    requests: list[Request],
    clients: int,
    warmup_s: float,
    seconds: float,
    on_measure: Callable[[], None] = lambda: None,
) -> tuple[Tally, float, float]:
    """(tally, measured wall seconds, client CPU seconds in the window). The warm-up sends
    every distinct request once, then runs the closed loop for ``warmup_s`` unrecorded;
    ``on_measure`` is called when the measured window opens."""
    tally = Tally()
    shared = iter(requests)
    primed = time.perf_counter()
    await asyncio.gather(*(prime(port, shared, tally) for _ in range(clients)))
    tally.prime_seconds = time.perf_counter() - primed
    now = time.perf_counter()
    measure_from = now + warmup_s
    stop_at = measure_from + seconds
    step = max(1, len(requests) // clients)
    tasks = [
        asyncio.ensure_future(client(port, requests, i * step, measure_from, stop_at, tally))
        for i in range(clients)
    ]
    await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
    on_measure()
    cpu0 = time.process_time()
    await asyncio.gather(*tasks)
    cpu = time.process_time() - cpu0
    wall = max(tally.last_done, stop_at) - measure_from
    return tally, wall, cpu


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when it is installed (uvicorn's own choice too): less CPU per request."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def loop_name() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


# -- the server -------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def lotgraph_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "lotgraph", *args]


def http(
    method: str, url: str, data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return int(resp.status), resp.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


def ensure_account(env: dict[str, str], name: str, password: str) -> str:
    """Add the auditor account, or give the existing one the new password; what was done."""
    line = (password + "\n").encode()
    add = subprocess.run(
        lotgraph_cmd("users", "add", name, "--role", "auditor", "--password-stdin"),
        input=line,
        env=env,
        capture_output=True,
    )
    if add.returncode == 0:
        return "added"
    if add.returncode != 1:
        raise BenchError(f"lotgraph users add failed: {add.stderr.decode().strip()}")
    rotate = subprocess.run(
        lotgraph_cmd("users", "rotate", name, "--password-stdin"),
        input=line,
        env=env,
        capture_output=True,
    )
    if rotate.returncode != 0:
        raise BenchError(f"lotgraph users rotate failed: {rotate.stderr.decode().strip()}")
    return "rotated"


@contextmanager
def api_server(env: dict[str, str], port: int, workers: int, log_path: Path) -> Iterator[int]:
    """Run ``lotgraph serve`` in its own process group until the block ends; yields its pid."""
    log = log_path.open("wb")
    proc = subprocess.Popen(
        lotgraph_cmd("serve", "--host", HOST, "--port", str(port), "--workers", str(workers)),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise BenchError(f"lotgraph serve exited with {proc.returncode}: {_tail(log_path)}")
            try:
                status, _ = http("GET", f"http://{HOST}:{port}/health")
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise BenchError(f"no answer from /health in {START_TIMEOUT_S:.0f} s")
            time.sleep(0.2)
        # uvicorn answers as soon as one worker is up; let the others finish starting.
        time.sleep(2.0 if workers > 1 else 0.0)
        yield proc.pid
    finally:
        _stop_group(proc)
        log.close()


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT (uvicorn's graceful shutdown: stores closed, access log flushed), then SIGKILL
    for whatever of the group is left after STOP_TIMEOUT_S."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=STOP_TIMEOUT_S)
    deadline = time.monotonic() + 5
    while group_members(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if proc.poll() is None or group_members(proc.pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _group_stats(pgid: int) -> Iterator[tuple[int, list[str]]]:
    """(pid, /proc/PID/stat fields from the state on) of the processes of a process group."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            yield int(entry.name), fields


def group_members(pgid: int) -> int:
    return sum(1 for _ in _group_stats(pgid))


def group_cpu_seconds(pgid: int) -> dict[int, float]:
    """User + system CPU seconds of each live process of a process group."""
    tick = os.sysconf("SC_CLK_TCK")
    return {pid: (int(f[11]) + int(f[12])) / tick for pid, f in _group_stats(pgid)}


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (every core, every process) since boot."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def pid_cpu_seconds(pid: int | None) -> float | None:
    if not pid:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- one measurement ------------------------------------------------------------------------
@dataclass
class Result:
    store: str
    workers: int
    clients: int
    seconds: float
    requests: int
    errors: int
    by_kind: dict[str, list[float]]
    errors_by_kind: dict[str, int]
    samples: list[str]
    client_cpu: float
    server_cpu: float
    worker_cpu: list[float]  # the busiest processes of the server, one per worker
    db_cpu: float | None
    other_cpu: float  # every other process on the machine, in the same window
    warmup_requests: int
    warmup_errors: int
    prime_seconds: float

    @property
    def all_ms(self) -> list[float]:
        return [ms for values in self.by_kind.values() for ms in values]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def measure(
    store: str,
    env: dict[str, str],
    workers: int,
    lots: list[str],
    args: argparse.Namespace,
    db_pid: int | None,
) -> Result:
    port = free_port()
    password = secrets.token_urlsafe(24)
    done = ensure_account(env, args.account, password)
    log_path = Path(args.log_dir) / f"bench-api-{store}-w{workers}.log"
    with api_server(env, port, workers, log_path) as server_pid:
        form = urllib.parse.urlencode({"username": args.account, "password": password}).encode()
        status, body = http(
            "POST",
            f"http://{HOST}:{port}/auth/token",
            form,
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        if status != 200:
            raise BenchError(f"sign-in refused: HTTP {status} {body[:200]!r}")
        token = json.loads(body)["access_token"]
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        # One answer of each kind is read and checked before the load starts.
        first = urllib.parse.quote(lots[0], safe="")
        status, body = http("GET", f"http://{HOST}:{port}/lots/{first}/trace", headers=auth)
        if status != 200 or json.loads(body).get("root") != lots[0]:
            raise BenchError(f"trace of {lots[0]}: HTTP {status} {body[:200]!r}")
        recall_body = json.dumps({"lot_ids": [lots[0]]}).encode()
        status, body = http(
            "POST", f"http://{HOST}:{port}/investigations/recall", recall_body, auth
        )
        if status != 200:
            raise BenchError(f"recall of {lots[0]}: HTTP {status} {body[:200]!r}")
        requests = build_requests(lots, f"{HOST}:{port}", token, args.seed)
        print(
            f"{store}: lotgraph serve --workers {workers} on {HOST}:{port} (pid {server_pid}, "
            f"log {log_path}); account {args.account} {done}; {len(requests)} distinct requests; "
            f"{args.clients} clients, {args.warmup:g} s warm-up, {args.seconds:g} s measured",
            flush=True,
        )
        loop = new_event_loop()
        try:
            # CPU of the processes, read when the window opens and after its last answer.
            marks: dict[str, tuple[dict[int, float], float | None, float]] = {}

            def mark(name: str) -> None:
                marks[name] = (
                    group_cpu_seconds(server_pid),
                    pid_cpu_seconds(db_pid),
                    machine_busy_seconds(),
                )

            tally, wall, client_cpu = loop.run_until_complete(
                run_load(
                    port,
                    requests,
                    args.clients,
                    args.warmup,
                    args.seconds,
                    on_measure=lambda: mark("start"),
                )
            )
            mark("end")
        finally:
            pending = asyncio.all_tasks(loop)  # after Ctrl-C: end the clients quietly
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()
    start = marks.get("start", marks["end"])
    # per process of the server (the supervisor and the workers), busiest first
    per_process = sorted(
        (cpu - start[0].get(pid, 0.0) for pid, cpu in marks["end"][0].items()), reverse=True
    )
    server_cpu = sum(per_process)
    db0, db1 = start[1], marks["end"][1]
    db_cpu = (db1 - db0) if db0 is not None and db1 is not None else None
    busy = marks["end"][2] - start[2]
    ok = sum(len(v) for v in tally.latencies_ms.values())
    errors = sum(tally.errors.values())
    return Result(
        store=store,
        workers=workers,
        clients=args.clients,
        seconds=wall,
        requests=ok + errors,
        errors=errors,
        by_kind=tally.latencies_ms,
        errors_by_kind=tally.errors,
        samples=tally.samples,
        client_cpu=client_cpu,
        server_cpu=server_cpu,
        worker_cpu=[c for c in per_process[:workers] if c > 0] if workers > 1 else [],
        db_cpu=db_cpu,
        other_cpu=max(0.0, busy - client_cpu - server_cpu - (db_cpu or 0.0)),
        warmup_requests=tally.warmup_requests,
        warmup_errors=tally.warmup_errors,
        prime_seconds=tally.prime_seconds,
    )


# -- printing ---------------------------------------------------------------------------------
def _ms(values: list[float], q: float) -> str:
    return f"{percentile(values, q):.1f}" if values else "-"


def print_results(results: list[Result]) -> None:
    head = (
        f"{'store':9s} {'workers':>7s} {'kind':6s} {'requests':>9s} {'req/s':>8s} "
        f"{'p50 ms':>8s} {'p99 ms':>8s} {'max ms':>8s} {'errors':>7s}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        rows: list[tuple[str, list[float], int]] = [("all", r.all_ms, r.errors)]
        for kind in ("trace", "recall"):
            rows.append((kind, r.by_kind.get(kind, []), r.errors_by_kind.get(kind, 0)))
        for kind, values, errors in rows:
            n = len(values) + errors
            print(
                f"{r.store:9s} {r.workers:>7d} {kind:6s} {n:>9,d} {n / r.seconds:>8,.1f} "
                f"{_ms(values, 0.5):>8s} {_ms(values, 0.99):>8s} "
                f"{(f'{max(values):.1f}' if values else '-'):>8s} {errors:>7,d}"
            )
    print("(latency: request written -> whole answer read, queueing included; errors: non-2xx")
    print(" or connection errors; req/s over the measured window)")
    print()
    for r in results:
        db = f", Neo4j server {r.db_cpu:.1f} s" if r.db_cpu is not None else ""
        split = (
            f" ({' + '.join(f'{c:.1f}' for c in r.worker_cpu)} by worker)" if r.worker_cpu else ""
        )
        print(
            f"{r.store} workers={r.workers}: {r.seconds:.1f} s measured; CPU seconds: client "
            f"{r.client_cpu:.1f} s ({r.client_cpu / r.seconds * 100:.0f}% of a core, "
            f"{r.client_cpu / max(r.requests, 1) * 1e6:.0f} us/request), API server "
            f"{r.server_cpu:.1f} s{split}{db}, every other process {r.other_cpu:.1f} s; "
            f"warm-up {r.warmup_requests:,d} requests ({r.prime_seconds:.1f} s for each "
            f"distinct request once, then the timed warm-up), {r.warmup_errors} errors"
        )
        for sample in r.samples:
            print(f"  error: {sample}")
        if any("no longer valid" in sample for sample in r.samples):
            print(
                "  (the account's password was replaced while this ran: another run with the "
                "same --account?)"
            )


def print_targets(results: list[Result], lots: int, clients: int) -> None:
    def verdict(ok: bool) -> str:
        return "MET" if ok else "NOT MET"

    print()
    print("targets on this machine (2 cores):")
    rates = {r.store: r.rps for r in results}
    for r in results:
        all_ms = r.all_ms
        p99 = percentile(all_ms, 0.99) if all_ms else float("nan")
        rps, p99_ms = TARGET_RPS[r.store], TARGET_P99_MS[r.store]
        parts = [
            f"requests/s >= {rps:.0f}: {r.rps:,.1f} -> {verdict(r.rps >= rps)}",
            f"p99 <= {p99_ms:.0f} ms: {p99:.1f} ms -> {verdict(p99 <= p99_ms)}",
            f"0 errors: {r.errors:,d} -> {verdict(r.errors == 0)}",
        ]
        print(f"  {r.store} workers={r.workers}: " + "; ".join(parts))
        others = [f"{store} {rate:,.0f} req/s" for store, rate in rates.items() if store != r.store]
        baseline = f"same run: {', '.join(others)}" if others else ""
        note = f"{r.workers} workers, {clients} clients, {r.requests:,d} requests"
        record(f"api.{r.store}.rps", r.rps, lots=lots, baseline=baseline, note=note)
        record(f"api.{r.store}.p99_ms", p99, lots=lots, note=note)
        record(f"api.{r.store}.errors", r.errors, lots=lots, note=note)


# -- main ---------------------------------------------------------------------------------------
def server_env(
    store: str, data_dir: Path, info: neo4j_local.ConnectionInfo | None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}
    env.pop("LOTGRAPH_DEMO", None)
    env.update(
        LOTGRAPH_SECRET_KEY=secrets.token_urlsafe(48),
        LOTGRAPH_STORE=store,
        LOTGRAPH_DATA_DIR=str(data_dir),
        LOTGRAPH_TOKEN_MINUTES=str(TOKEN_MINUTES),
        LOTGRAPH_ACTOR="cli:bench-api",
    )
    if info is not None:
        env.update(
            NEO4J_URI=info.uri,
            NEO4J_USER=info.user,
            NEO4J_PASSWORD=info.password,
            NEO4J_DATABASE=info.database,
        )
    return env


def start_neo4j(sqlite_path: Path, neo_dir: Path) -> neo4j_local.ConnectionInfo:
    marker = built_from(neo_dir)
    if marker is None or marker.get("sqlite") != str(sqlite_path.resolve()):
        raise BenchError(
            f"no bulk-imported Neo4j of {sqlite_path} in {neo_dir}; build it with "
            "`python -m benchmarks.neo4j_bulk --lots N` (or run benchmarks.bench_queries)"
        )
    print(f"neo4j: bulk import of {marker['built_at']} in {neo_dir}; starting the server")
    return neo4j_local.start(neo_dir, fresh=False)


def _interrupted(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lots", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--stores", default="embedded,neo4j")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured, per run")
    parser.add_argument(
        "--warmup", type=float, default=5.0, help="seconds of load before measuring"
    )
    parser.add_argument("--clients", type=int, default=32, help="concurrent connections")
    parser.add_argument("--workers", default="2", help="server worker processes; a list: 1,2,3")
    parser.add_argument("--sample", type=int, default=300, help="typical lots")
    parser.add_argument(
        "--account",
        default=ACCOUNT,
        help="auditor account to sign in as (its password is replaced every run: two runs at "
        "once need two names)",
    )
    parser.add_argument("--keep-neo4j", action="store_true", help="leave the server running")
    parser.add_argument("--sqlite", type=Path, help="embedded store (default from --lots)")
    parser.add_argument("--neo4j-dir", type=Path, help="Neo4j data dir (default from --lots)")
    parser.add_argument(
        "--log-dir", type=Path, default=Path("benchmarks/output"), help="server logs go here"
    )
    args = parser.parse_args()
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    if not stores or set(stores) - {"embedded", "neo4j"}:
        parser.error("--stores takes embedded, neo4j or both")
    try:
        workers = [int(w) for w in args.workers.split(",") if w.strip()]
    except ValueError:
        parser.error("--workers takes a number or a comma-separated list of numbers")
    if not workers or min(workers) < 1 or args.clients < 1 or args.seconds <= 0:
        parser.error("--workers, --clients and --seconds must be positive")
    bench_environment()
    signal.signal(signal.SIGTERM, _interrupted)  # stop the servers on SIGTERM too
    sqlite_path, neo_dir = default_paths(args.lots, args.seed)
    sqlite_path = args.sqlite or sqlite_path
    neo_dir = args.neo4j_dir or neo_dir
    if not sqlite_path.is_file():
        parser.error(f"no embedded store at {sqlite_path}; ingest the plant first (make bench)")
    args.log_dir.mkdir(parents=True, exist_ok=True)

    print(f"machine: {describe()}")
    print(f"measured: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    lots = sample_lots(sqlite_path, args.sample, args.seed)
    print(
        f"lots: {len(lots)} typical (seeded uniform sample of {sqlite_path}, seed {args.seed}); "
        f"client event loop: {loop_name()}"
    )

    results: list[Result] = []
    failed = False
    try:
        for store in stores:
            info = None
            db_pid = None
            data_dir = sqlite_path.parent
            if store == "neo4j":
                info = start_neo4j(sqlite_path, neo_dir)
                db_pid = neo4j_local.status(neo_dir).get("pid")
                data_dir = neo_dir
            try:
                env = server_env(store, data_dir, info)
                for n in workers:
                    results.append(measure(store, env, n, lots, args, db_pid))
            finally:
                if store == "neo4j" and not args.keep_neo4j:
                    neo4j_local.stop(neo_dir)
    except (BenchError, neo4j_local.Neo4jLocalError) as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        failed = True
    except KeyboardInterrupt:
        print("interrupted: servers stopped", file=sys.stderr)
        failed = True
    if results:
        print()
        print_results(results)
        print_targets(results, args.lots, args.clients)
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if any(r.errors for r in results):
        failed = True
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
