"""Batches of a served plant made ready for release tests, through the API only.

A generated plant has a handful of batches awaiting release, most of them with findings.
The qa test account does what a QA person would to clear them: approves a batch record
that is in review (the record is then releasable) and records a CoA for an input lot
that has none. What is left are findings nobody clears on the spot (out-of-trend results,
open deviations): those batches are released, if at all, by override.
"""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from api.auth.schemas import Role
from lotgraph.neo4j_local import ConnectionInfo
from tests.dashboard.conftest import PASSWORD, ServedPlant, serve_plant

QA = "qa-release"
FIXABLE = frozenset({"batch_record_not_approved", "input_without_coa"})


def add_account(plant: ServedPlant, name: str, role: Role = Role.QA) -> str:
    return plant.add_account(name, role)


def segment(value: str) -> str:
    return quote(value, safe="")


def send(
    plant: ServedPlant, account: str, path: str, body: Any, key: str | None = None
) -> httpx.Response:
    """A POST as ``account``, its answer whatever the status."""
    headers = {"Authorization": f"Bearer {plant.token(account)}"}
    if key:
        headers["Idempotency-Key"] = key
    return httpx.post(f"{plant.api_url}{path}", headers=headers, json=body, timeout=60)


def checklist(plant: ServedPlant, batch: str) -> dict[str, Any]:
    found: dict[str, Any] = plant.get(QA, f"/batches/{segment(batch)}/release")
    return found


def input_lots(plant: ServedPlant, batch: str) -> list[str]:
    events = plant.get(QA, f"/batches/{segment(batch)}/custody")["events"]
    return sorted({e["lot"] for e in events if e["kind"] == "consumed"})


def _fix(plant: ServedPlant, found: dict[str, Any]) -> None:
    for finding in found["findings"]:
        if finding["kind"] == "batch_record_not_approved":
            _approve(plant, found["batch_record"])
        elif finding["kind"] == "input_without_coa":
            body = {
                "id": f"DOC-COA-TEST-{uuid.uuid4().hex[:10]}",
                "kind": "coa",
                "title": f"certificate of analysis of {finding['id']}",
                "content": {"lot": finding["id"], "result": "conforms"},
                "concerns": [{"target_kind": "lot", "target_id": finding["id"]}],
            }
            answer = send(plant, QA, "/documents", body)
            assert answer.status_code == 201, answer.text


def _approve(plant: ServedPlant, record: dict[str, Any]) -> None:
    """The batch record's version through review to approval: a draft is signed authored
    by its author (an account of that name), then reviewed; then the qa account approves."""
    path = f"/documents/{segment(record['id'])}/versions/{record['current_version']}/signatures"
    steps = [("approved", QA)]
    if record["state"] == "draft":
        author = add_account(plant, record["version_author"])
        steps = [("authored", author), ("reviewed", QA), *steps]
    for meaning, account in steps:
        answer = send(plant, account, path, {"meaning": meaning, "password": PASSWORD})
        if meaning == "authored" and answer.status_code == 409 and "already" in answer.text:
            continue  # the author had finished it: it waited for review
        assert answer.status_code == 201, answer.text


@dataclass
class Candidates:
    clean: list[dict[str, Any]]  # awaiting release, nothing blocks it
    overridable: list[dict[str, Any]]  # awaiting release, only overridable findings

    def __repr__(self) -> str:
        return (
            f"clean {[c['batch'] for c in self.clean]}, "
            f"overridable {[c['batch'] for c in self.overridable]}"
        )


def release_candidates(plant: ServedPlant) -> Candidates:
    """Every batch awaiting release after the qa account cleared what it could."""
    add_account(plant, QA)
    for found in plant.get(QA, "/work")["batches_awaiting_release"]:
        if any(f["kind"] in FIXABLE for f in found["findings"]):
            _fix(plant, found)
    now = [checklist(plant, b["batch"]) for b in plant.get(QA, "/work")["batches_awaiting_release"]]
    return Candidates(
        clean=[c for c in now if c["can_release"]],
        overridable=[c for c in now if c["can_override"]],
    )


def place_hold(plant: ServedPlant, lot: str, reason: str) -> dict[str, Any]:
    answer = send(
        plant, QA, f"/lots/{segment(lot)}/holds", {"reason": reason, "password": PASSWORD}
    )
    assert answer.status_code == 201, answer.text
    found: dict[str, Any] = answer.json()
    return found


def release_hold(plant: ServedPlant, lot: str, reason: str) -> dict[str, Any]:
    answer = send(
        plant, QA, f"/lots/{segment(lot)}/holds/release", {"reason": reason, "password": PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


@contextmanager
def plant_to_release(
    home: Path, neo4j: ConnectionInfo | None = None, tries: int = 6
) -> Iterator[tuple[ServedPlant, Candidates]]:
    """A served plant with a batch awaiting release that nothing blocks, and another that
    only overridable findings block (or nothing): plants from new seeds until one has them
    (a plant has only a handful of batches awaiting release)."""
    for attempt in range(tries):
        with serve_plant(home / f"plant-{attempt}", 300, neo4j) as plant:
            found = release_candidates(plant)
            print(f"release candidates: {found}")
            if found.clean and len(found.clean) + len(found.overridable) >= 2:
                yield plant, found
                return
    raise AssertionError(f"no plant of {tries} had two batches to release")


@contextmanager
def answers_lost_on_post(api_url: str) -> Iterator[str]:
    """A loopback proxy to the API that forwards every request but loses the answer to a
    POST: the API does the work, the caller sees the connection drop."""

    class Proxy(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host",)}
            reply = httpx.request(
                self.command, f"{api_url}{self.path}", headers=headers, content=body, timeout=60
            )
            if self.command == "POST":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.send_response(reply.status_code)
            for name, value in reply.headers.items():
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.content)))
            self.end_headers()
            self.wfile.write(reply.content)

        do_GET = do_POST = _forward

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
