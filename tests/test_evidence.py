"""Evidence packages (queries/evidence.py, `lotgraph evidence`): content, stability, and
verification that names every changed, missing or added file; on both stores."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from click.testing import Result
from typer.testing import CliRunner

from graph.embedded import EmbeddedStore
from graph.identifiers import local_urn
from graph.neo4j_store import Neo4jStore
from graph.store import GraphStore
from ingest.loader import ingest_bundle
from ingest.synthetic import generate_plant
from lotgraph.cli import app as cli_app
from queries.custody import custody
from queries.documents import documents_for_lot
from queries.epcis_export import export_trace
from queries.errors import NotFound
from queries.evidence import (
    DATA_FILES,
    EPCIS_FILE,
    FILES,
    FORMAT,
    MANIFEST,
    Evidence,
    EvidenceUnreadable,
    build_evidence,
    collect_evidence,
    manifest_bytes,
    manifest_digest,
    manifest_sha256_of,
    package,
    scope_lot_vias,
    sha256_hex,
    verify_evidence,
)
from queries.recall import recall
from queries.trace import Direction, trace
from tests.bundles import MATERIALS, batch, consumption, lot, output, write_bundle
from tests.epcis.schema import assert_valid

REPO = Path(__file__).resolve().parent.parent
NOW = "2026-05-04T12:00:00Z"
SEED = 11

BR_V1, BR_V2, COA = "a" * 64, "b" * 64, "c" * 64
TAMPERED = "9" * 64


# -- helpers ---------------------------------------------------------------------------------
def files_of(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def rezip(files: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in files:
            zf.writestr(name, content)
    return buffer.getvalue()


def flipped(content: bytes, at: int, mask: int = 0x01) -> bytes:
    changed = bytearray(content)
    changed[at] ^= mask
    return bytes(changed)


def problems(content: bytes, **kw: Any) -> list[tuple[str, str]]:
    check = verify_evidence(content, **kw)
    assert check.ok is not bool(check.problems)
    return [(p.file, p.problem) for p in check.problems]


def largest_fan_out(plant: Path) -> str:
    """The lot consumed most often (ties: the smallest id), from the plant's CSV."""
    with (plant / "consumptions.csv").open(encoding="utf-8") as fh:
        uses = Counter(row["lot_id"] for row in csv.DictReader(fh))
    return min(uses, key=lambda lot_id: (-uses[lot_id], lot_id))


def _doc(doc_id: str, version: int, kind: str, sha: str, at: str) -> dict[str, Any]:
    return {
        "document_id": doc_id,
        "version": version,
        "kind": kind,
        "title": f"{doc_id} v{version} <b>&</b>",
        "content_sha256": sha,
        "created_at": at,
        "created_by": "U-1",
        "status": "approved",
    }


def _sig(sig_id: str, doc: str, version: int, meaning: str, at: str, sha: str) -> dict[str, Any]:
    return {
        "signature_id": sig_id,
        "document_id": doc,
        "document_version": version,
        "signer_id": "U-2",
        "meaning": meaning,
        "signed_at": at,
        "record_sha256": sha,
    }


def hand_built(folder: Path) -> Path:
    """R1 (100 kg, 10 consumed by B1, 50 on hand: a 40 kg shortfall) -> B1 -> F1 (shipped
    20 kg to a customer whose name is markup and a spreadsheet formula). DOC-BR-1 concerns
    B1: v1 signed (superseded), v2 signed twice (one hash mismatch). DOC-COA-1 concerns R1;
    DOC-DR-1 concerns DEV-1, which affects B1 and is open. S1 supplies B1 too (upstream)."""
    return write_bundle(
        folder,
        {
            "materials.csv": MATERIALS,
            "suppliers.csv": [
                {"supplier_id": "SUP-1", "name": "One", "country": "", "status": "approved"}
            ],
            "people.csv": [
                {"person_id": "U-1", "name": "Op", "role": "operator", "site": "SITE-A"},
                {"person_id": "U-2", "name": "Q <A>", "role": "qa", "site": "SITE-A"},
            ],
            "customers.csv": [
                {"customer_id": "CUST-1", "name": '=HYPERLINK("x")<script>', "country": "DE"}
            ],
            "lots.csv": [
                lot("R1", supplier_id="SUP-1", on_hand="50"),
                lot("F1", material="MAT-I", site="SITE-B", on_hand="30"),
            ],
            "batches.csv": [batch("B1")],
            "consumptions.csv": [consumption("B1", "R1", quantity="10")],
            "outputs.csv": [output("B1", "F1", quantity="50")],
            "shipments.csv": [
                {
                    "shipment_id": "SH-1",
                    "lot_id": "F1",
                    "customer_id": "CUST-1",
                    "quantity": "20",
                    "unit": "kg",
                    "shipped_at": "2026-03-01T10:00:00Z",
                }
            ],
            "documents.csv": [
                _doc("DOC-BR-1", 1, "batch_record", BR_V1, "2026-02-02T09:00:00Z"),
                _doc("DOC-BR-1", 2, "batch_record", BR_V2, "2026-02-06T09:00:00Z"),
                _doc("DOC-COA-1", 1, "coa", COA, "2026-01-04T09:00:00Z"),
                _doc("DOC-DR-1", 1, "deviation_report", COA, "2026-02-05T09:00:00Z"),
            ],
            "document_links.csv": [
                {"document_id": "DOC-BR-1", "target_kind": "batch", "target_id": "B1"},
                {"document_id": "DOC-COA-1", "target_kind": "lot", "target_id": "R1"},
                {"document_id": "DOC-DR-1", "target_kind": "deviation", "target_id": "DEV-1"},
            ],
            "signatures.csv": [
                _sig("SIG-1", "DOC-BR-1", 1, "approved", "2026-02-03T10:00:00Z", BR_V1),
                _sig("SIG-2", "DOC-BR-1", 2, "reviewed", "2026-02-06T10:00:00Z", BR_V2),
                _sig("SIG-3", "DOC-BR-1", 2, "approved", "2026-02-06T11:00:00Z", TAMPERED),
            ],
            "deviations.csv": [
                {
                    "deviation_id": "DEV-1",
                    "severity": "major",
                    "category": "OOS",
                    "status": "investigating",
                    "opened_at": "2026-02-01T13:00:00Z",
                    "closed_at": "",
                    "description": "Assay below limit",
                }
            ],
            "deviation_links.csv": [
                {"deviation_id": "DEV-1", "target_kind": "batch", "target_id": "B1"}
            ],
        },
    )


@pytest.fixture
def small(store: GraphStore, tmp_path: Path) -> GraphStore:
    report = ingest_bundle(store, hand_built(tmp_path / "hand"), actor="test")
    assert report.total("rejected") == 0
    # an update of R1, so that the audit trail has an entry keyed by the lot
    update = write_bundle(
        tmp_path / "update",
        {"lots.csv": [lot("R1", supplier_id="SUP-1", on_hand="55")]},
    )
    assert ingest_bundle(store, update, actor="test-update").total("rejected") == 0
    return store


@pytest.fixture
def plant(store: GraphStore, tmp_path: Path) -> tuple[GraphStore, str]:
    generated = generate_plant(lots=240, seed=SEED, out=tmp_path / "plant")
    ingest_bundle(store, generated.out, actor="test")
    return store, largest_fan_out(generated.out)


# -- content ----------------------------------------------------------------------------------
def test_package_of_a_hand_built_lot(small: GraphStore) -> None:
    content = build_evidence(small, "R1", creator="Zoë <qa>", now=NOW)
    files = files_of(content)
    assert list(files) == list(FILES)

    manifest = json.loads(files[MANIFEST])
    assert manifest["format"] == FORMAT
    assert (manifest["lot"], manifest["created_by"]) == ("R1", "Zoë <qa>")
    assert manifest["created_at"] == "2026-05-04T12:00:00.000Z"
    assert manifest["lotgraph_version"]
    assert list(manifest["files"]) == [n for n in FILES if n != MANIFEST]
    for name, digest in manifest["files"].items():
        assert sha256_hex(files[name]) == digest, name
    check = verify_evidence(content)
    assert check.ok and check.problems == []
    assert check.manifest_sha256 == sha256_hex(files[MANIFEST]) == manifest_sha256_of(content)

    # recall.json is the recall answer, byte for byte as `lotgraph recall --json` prints it
    answer = recall(small, ["R1"]).model_dump(mode="json")
    assert json.loads(files["recall.json"]) == answer
    assert (
        files["recall.json"] == (json.dumps(answer, indent=2, ensure_ascii=False) + "\n").encode()
    )

    # recall.csv: one row per affected lot, the shortfall and the customer's name quoted
    rows = list(csv.DictReader(io.StringIO(files["recall.csv"].decode("utf-8-sig"))))
    assert [r["traceability_lot_code"] for r in rows] == ["F1", "R1"]
    by_lot = {r["traceability_lot_code"]: r for r in rows}
    assert by_lot["R1"]["root"] == "yes" and by_lot["F1"]["root"] == "no"
    assert (by_lot["R1"]["quantity"], by_lot["R1"]["consumed"], by_lot["R1"]["on_hand"]) == (
        "100",
        "10",
        "55",
    )
    assert by_lot["R1"]["product_description"] == "Raw X"
    assert by_lot["F1"]["produced_by_batches"] == "B1"
    assert (by_lot["F1"]["customers"], by_lot["F1"]["shipments"]) == ("CUST-1", "SH-1")
    assert by_lot["F1"]["customer_names"] == '\'=HYPERLINK("x")<script>'
    assert by_lot["F1"]["first_shipped_at"] == "2026-03-01T10:00:00.000Z"
    assert by_lot["F1"]["location"] == "SITE-B" and by_lot["F1"]["depth"] == "2"

    # documents.json: the three documents, signature statuses as custody computes them
    docs = json.loads(files["documents.json"])
    by_id = {d["document_id"]: d for d in docs["documents"]}
    assert sorted(by_id) == ["DOC-BR-1", "DOC-COA-1", "DOC-DR-1"]
    assert by_id["DOC-COA-1"]["lots"] == ["R1"] and by_id["DOC-COA-1"]["batches"] == []
    assert by_id["DOC-BR-1"]["lots"] == ["F1"] and by_id["DOC-BR-1"]["batches"] == ["B1"]
    assert ["DOC-DR-1", "CONCERNS", "DEV-1", "AFFECTS", "B1", "PRODUCED", "F1"] in by_id[
        "DOC-DR-1"
    ]["via"]
    status = {s["signature_id"]: s["status"] for s in by_id["DOC-BR-1"]["signatures"]}
    assert status == {"SIG-1": "superseded", "SIG-2": "valid", "SIG-3": "hash_mismatch"}
    custody_status = {s.signature_id: s.status for s in custody(small, "B1").signatures}
    assert {k: v for k, v in custody_status.items() if k in status} == status
    assert docs["signature_status"] == {"valid": 1, "hash_mismatch": 1, "superseded": 1}
    assert [(v["version"], v["current"]) for v in by_id["DOC-BR-1"]["versions"]] == [
        (1, False),
        (2, True),
    ]
    assert docs["signers"] == [{"id": "U-2", "name": "Q <A>", "role": "qa", "site": "SITE-A"}]

    # audit.json: the update of R1 is there
    audit = json.loads(files["audit.json"])
    assert {"R1", "F1", "B1", "DOC-BR-1", "SIG-3"} <= set(audit["keys"])
    updates = [e for e in audit["entries"] if e["key"] == "R1" and e["action"] == "update"]
    assert len(updates) == 1 and updates[0]["new"]["on_hand"] == 55
    assert all(set(e["key"].split(",")) & set(audit["keys"]) for e in audit["entries"])

    # report.html: figures, shortfall and hash mismatch stand out, every value escaped
    report = files["report.html"].decode()
    assert "SHORTFALL" in report and "HASH MISMATCH" in report
    assert "<script>" not in report and "&lt;script&gt;" in report
    assert "Zoë &lt;qa&gt;" in report and "Q &lt;A&gt;" in report
    assert "http://" not in report and "https://" not in report and "<link" not in report
    for name in DATA_FILES:
        assert manifest["files"][name] in report


def test_trace_graphml_holds_both_directions(plant: tuple[GraphStore, str]) -> None:
    store, lot_id = plant
    files = files_of(build_evidence(store, lot_id, creator="t", now=NOW))
    graph = nx.read_graphml(io.BytesIO(files["trace.graphml"]))
    forward = trace(store, lot_id, Direction.FORWARD)
    backward = trace(store, lot_id, Direction.BACKWARD)
    nodes = {n.id: n for n in (*backward.nodes, *forward.nodes)}
    assert set(graph.nodes) == set(nodes)
    for node_id, node in nodes.items():
        assert graph.nodes[node_id]["label"] == node.label
        assert graph.nodes[node_id].get("site") == node.site
    assert graph.nodes[lot_id]["direction"] == "root"
    edges = {(a, d["type"], b) for a, b, d in graph.edges(data=True)}
    assert edges == set(forward.edges) | set(backward.edges)
    assert graph.number_of_edges() == len(edges)
    assert forward.customers and (backward.lots or backward.suppliers)


def test_generated_plant_package(plant: tuple[GraphStore, str]) -> None:
    store, lot_id = plant
    content = build_evidence(store, lot_id, creator="t", now=NOW)
    assert verify_evidence(content).ok
    files = files_of(content)
    answer = recall(store, [lot_id])
    assert len(answer.lots) > 10  # the largest fan-out reaches far
    assert json.loads(files["recall.json"]) == answer.model_dump(mode="json")

    rows = list(csv.DictReader(io.StringIO(files["recall.csv"].decode("utf-8-sig"))))
    assert [r["traceability_lot_code"] for r in rows] == [x.id for x in answer.lots]
    for row, x in zip(rows, answer.lots, strict=True):
        assert float(row["quantity"] or 0) == (x.quantity or 0)
        assert float(row["shipped"]) == x.shipped and float(row["on_hand"]) == x.on_hand
        assert (row["location"], row["status"], row["unit"]) == (x.site, x.status, x.unit)
    received = {c.id: set(c.lots) for c in answer.customers}
    for row in rows:
        for customer in filter(None, row["customers"].split(";")):
            assert row["traceability_lot_code"] in received[customer]

    # documents: per lot exactly what documents_for_lot answers, read for all lots at once
    docs = json.loads(files["documents.json"])["documents"]
    grouped = scope_lot_vias(store, [x.id for x in answer.lots])
    listed: set[str] = set()
    for x in answer.lots:
        one = documents_for_lot(store, x.id)
        assert {tuple(v) for d in one.documents for v in d.via} == grouped.get(x.id, set())
        listed |= {d.document_id for d in one.documents}
    assert listed <= {d["document_id"] for d in docs}
    assert {d.id for d in answer.documents} <= {d["document_id"] for d in docs}
    statuses = {s["signature_id"]: s["status"] for d in docs for s in d["signatures"]}
    assert statuses
    for b in answer.batches[:5]:
        for s in custody(store, b.id).signatures:
            if s.signature_id in statuses:
                assert statuses[s.signature_id] == s.status


def test_same_state_and_time_give_the_same_bytes(small: GraphStore) -> None:
    first = build_evidence(small, "R1", creator="t", now=NOW)
    assert build_evidence(small, "R1", creator="t", now=NOW) == first
    later = files_of(build_evidence(small, "R1", creator="t", now="2026-05-04T14:00:00+02:00"))
    assert json.loads(later[MANIFEST])["created_at"] == "2026-05-04T12:00:00.000Z"
    other = files_of(build_evidence(small, "R1", creator="t", now="2026-05-05T00:00:00Z"))
    assert other["recall.json"] == files_of(first)["recall.json"]
    assert other[MANIFEST] != files_of(first)[MANIFEST]
    default = json.loads(files_of(build_evidence(small, "R1", creator="t"))[MANIFEST])
    assert default["created_at"].endswith("Z")


def test_unknown_lot_and_bad_time(small: GraphStore) -> None:
    with pytest.raises(NotFound, match="NOPE"):
        build_evidence(small, "NOPE", creator="t")
    with pytest.raises(ValueError, match="now"):
        build_evidence(small, "R1", creator="t", now="yesterday")
    with pytest.raises(ValueError, match="offset"):
        build_evidence(small, "R1", creator="t", now="2026-05-04T12:00:00")


# -- verification -----------------------------------------------------------------------------
def test_a_changed_byte_in_any_file_is_named(small: GraphStore) -> None:
    content = build_evidence(small, "R1", creator="t", now=NOW)
    files = files_of(content)
    assert verify_evidence(rezip(list(files.items()))).ok  # rezipping alone changes nothing
    for name, data in files.items():
        if name == MANIFEST:
            positions = range(len(data))  # every byte: the manifest guards itself
        else:
            positions = sorted({0, 1, len(data) // 3, len(data) // 2, len(data) - 1})
        for at in positions:
            for mask in (0x01, 0x20):
                tampered = rezip(
                    [(n, flipped(d, at, mask) if n == name else d) for n, d in files.items()]
                )
                found = problems(tampered)
                if name == MANIFEST:
                    assert (MANIFEST, "changed") in found or (
                        MANIFEST,
                        "manifest_unreadable",
                    ) in found, (at, mask, found)
                else:
                    assert found == [(name, "changed")], (name, at, found)


def test_missing_added_and_duplicate_files_are_named(small: GraphStore) -> None:
    files = list(files_of(build_evidence(small, "R1", creator="t", now=NOW)).items())
    for name, _ in files:
        found = problems(rezip([(n, d) for n, d in files if n != name]))
        assert found == [(name, "missing")], found
    assert problems(rezip([*files, ("notes.txt", b"x")])) == [("notes.txt", "added")]
    assert problems(rezip([*files, ("dir/", b"")])) == [("dir/", "added")]
    with pytest.warns(UserWarning, match="Duplicate name"):
        duplicated = rezip([*files, ("recall.csv", b"lot\r\nX\r\n")])
    assert ("recall.csv", "added") in problems(duplicated)


def test_a_consistent_forgery_fails_only_against_the_recorded_hash(small: GraphStore) -> None:
    """An editor who recomputes every hash and the manifest digest passes the package's own
    check; the manifest SHA-256 recorded at creation still catches it."""
    content = build_evidence(small, "R1", creator="t", now=NOW)
    recorded = manifest_sha256_of(content)
    files = files_of(content)
    files["recall.csv"] = files["recall.csv"].replace(b"SITE-B", b"SITE-Z")
    manifest = json.loads(files[MANIFEST])
    manifest["files"]["recall.csv"] = sha256_hex(files["recall.csv"])
    manifest["manifest_digest"] = manifest_digest(manifest)
    files[MANIFEST] = manifest_bytes(manifest)
    forged = rezip(list(files.items()))
    assert verify_evidence(forged).ok
    assert problems(forged, manifest_sha256=recorded) == [(MANIFEST, "changed")]
    assert verify_evidence(content, manifest_sha256=recorded.upper()).ok


def test_unreadable_packages(small: GraphStore, tmp_path: Path) -> None:
    with pytest.raises(EvidenceUnreadable):
        verify_evidence(b"not a zip")
    files = list(files_of(build_evidence(small, "R1", creator="t", now=NOW)).items())
    unreadable = [(n, b"{not json" if n == MANIFEST else d) for n, d in files]
    assert problems(rezip(unreadable)) == [(MANIFEST, "manifest_unreadable")]
    other = json.dumps({"format": "something-else/9", "files": {}}).encode()
    found = problems(rezip([(n, other if n == MANIFEST else d) for n, d in files]))
    assert found == [(MANIFEST, "manifest_unreadable")]
    path = tmp_path / "p.zip"
    path.write_bytes(rezip(files))
    assert verify_evidence(path).ok and verify_evidence(str(path)).ok


def test_trace_epcis_holds_both_directions_as_one_valid_document(
    plant: tuple[GraphStore, str],
) -> None:
    store, lot_id = plant
    files = files_of(build_evidence(store, lot_id, creator="t", now=NOW))
    document = json.loads(files[EPCIS_FILE])
    assert_valid(document)
    assert document["creationDate"] == json.loads(files[MANIFEST])["created_at"]
    forward = export_trace(store, lot_id, Direction.FORWARD)
    backward = export_trace(store, lot_id, Direction.BACKWARD)
    events = {e["eventID"]: e for e in document["epcisBody"]["eventList"]}
    for one in (forward, backward):
        for event in one["epcisBody"]["eventList"]:
            created = event.get("bizStep") == "creating_class_instance"
            if created and event["quantityList"][0]["epcClass"] == local_urn("lot", lot_id):
                continue  # the root's creation: forward only, when a batch made the root
            assert events[event["eventID"]] == event
    batches = {e["transformationID"] for e in events.values() if "transformationID" in e}
    traced = set(trace(store, lot_id, Direction.FORWARD).batches)
    traced |= set(trace(store, lot_id, Direction.BACKWARD).batches)
    assert batches == {local_urn("batch", b) for b in traced} and batches
    # stable bytes: the same store and time give the same file
    again = files_of(build_evidence(store, lot_id, creator="t", now=NOW))
    assert again[EPCIS_FILE] == files[EPCIS_FILE]


def test_a_package_of_format_1_without_the_epcis_file_still_verifies(
    small: GraphStore,
) -> None:
    files = files_of(build_evidence(small, "R1", creator="t", now=NOW))
    manifest = json.loads(files.pop(MANIFEST))
    del files[EPCIS_FILE]
    manifest["format"] = "lotgraph-evidence/1"
    del manifest["files"][EPCIS_FILE]
    manifest["manifest_digest"] = manifest_digest(manifest)
    old = rezip([(MANIFEST, manifest_bytes(manifest)), *files.items()])
    assert problems(old) == []
    # but a format 2 package that lacks it is not intact
    manifest["format"] = FORMAT
    manifest["manifest_digest"] = manifest_digest(manifest)
    cut = rezip([(MANIFEST, manifest_bytes(manifest)), *files.items()])
    assert problems(cut) == [(EPCIS_FILE, "missing")]


# -- both stores --------------------------------------------------------------------------------
@pytest.mark.neo4j
def test_both_stores_give_the_same_package(
    embedded_store: EmbeddedStore, neo4j_store: Neo4jStore, tmp_path: Path
) -> None:
    generated = generate_plant(lots=240, seed=SEED, out=tmp_path / "plant")
    lot_id = largest_fan_out(generated.out)
    packages: dict[str, dict[str, bytes]] = {}
    evidence: dict[str, Evidence] = {}
    for store in (embedded_store, neo4j_store):
        ingest_bundle(store, generated.out, actor="test")
        packages[store.kind] = files_of(build_evidence(store, lot_id, creator="t", now=NOW))
        evidence[store.kind] = collect_evidence(store, lot_id)
    embedded, neo4j = packages["embedded"], packages["neo4j"]
    for name in ("recall.json", "recall.csv", "trace.graphml", EPCIS_FILE, "documents.json"):
        assert embedded[name] == neo4j[name], name

    # The audit trail differs only in when (and in which transaction) each store wrote it.
    def stable(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        keep = ("actor", "action", "entity", "key", "old", "new")
        return sorted(
            ({k: e.get(k) for k in keep} for e in entries),
            key=lambda e: json.dumps(e, sort_keys=True),
        )

    audits = {k: json.loads(p["audit.json"]) for k, p in packages.items()}
    assert audits["embedded"]["keys"] == audits["neo4j"]["keys"]
    assert stable(audits["embedded"]["entries"]) == stable(audits["neo4j"]["entries"])
    # with the audit entries made alike, the whole zip is the same, byte for byte
    for e in evidence.values():
        e.audit = stable(e.audit)
    assert package(evidence["embedded"], creator="t", now=NOW) == package(
        evidence["neo4j"], creator="t", now=NOW
    )


# -- the command line -------------------------------------------------------------------------
CLI_ENV = {"LOTGRAPH_STORE": "embedded", "LOTGRAPH_ACTOR": "cli:tester"}


def run(args: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    """`lotgraph ...` in its own process, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "lotgraph", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "LOTGRAPH_DATA_DIR": str(data_dir), **CLI_ENV},
        timeout=300,
    )


def invoke(args: list[str], data_dir: Path) -> Result:
    """The same command in this process (a new interpreter per case costs seconds)."""
    env = {"LOTGRAPH_DATA_DIR": str(data_dir), **CLI_ENV}
    return CliRunner().invoke(cli_app, args, env=env)


def test_cli_builds_and_verifies_with_exit_codes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run(["ingest", str(hand_built(tmp_path / "hand"))], data).returncode == 0
    target = tmp_path / "out" / "R1.zip"
    target.parent.mkdir()

    done = run(["evidence", "R1", "--out", str(target)], data)
    assert done.returncode == 0, done.stderr
    content = target.read_bytes()
    recorded = manifest_sha256_of(content)
    assert str(target) in done.stdout and recorded in done.stdout
    assert json.loads(files_of(content)[MANIFEST])["created_by"] == "cli:tester"
    assert list(tmp_path.joinpath("out").iterdir()) == [target]  # no temporary file left
    done = run(["evidence", "verify", str(target)], data)
    assert done.returncode == 0, done.stdout + done.stderr
    assert recorded in done.stdout

    result = invoke(["evidence", "verify", str(target), "--manifest-sha256", recorded], data)
    assert result.exit_code == 0, result.output
    result = invoke(["evidence", "verify", str(target), "--json"], data)
    assert json.loads(result.stdout)["ok"] is True

    files = files_of(content)
    bad = tmp_path / "bad.zip"
    bad.write_bytes(
        rezip([(n, flipped(d, 5) if n == "documents.json" else d) for n, d in files.items()])
    )
    result = invoke(["evidence", "verify", str(bad)], data)
    assert result.exit_code == 1 and "changed: documents.json" in result.stdout
    bad.write_bytes(rezip([(n, d) for n, d in files.items() if n != "audit.json"] + [("x", b"")]))
    result = invoke(["evidence", "verify", str(bad)], data)
    assert result.exit_code == 1
    assert "missing: audit.json" in result.stdout and "added: x" in result.stdout
    result = invoke(["evidence", "verify", str(target), "--manifest-sha256", "0" * 64], data)
    assert result.exit_code == 1 and "changed: manifest.json" in result.stdout

    not_zip = tmp_path / "not.zip"
    not_zip.write_text("hello")
    for args in (
        ["evidence", "verify", str(not_zip)],  # not a zip
        ["evidence", "verify", str(tmp_path / "none.zip")],  # no such file
        ["evidence", "verify"],  # no file
        ["evidence", "verify", str(target), "--out", str(bad)],
        ["evidence", "R1"],  # no --out
        ["evidence", "R1", "F1", "--out", str(bad)],
        ["evidence", "R1", "--out", str(tmp_path / "no-such-dir" / "x.zip")],
        ["evidence", "R1", "--out", str(tmp_path)],  # a folder
        ["evidence", "R1", "--out", str(bad), "--manifest-sha256", recorded],
        ["evidence"],
    ):
        result = invoke(args, data)
        assert result.exit_code == 2, (args, result.output)
    result = invoke(["evidence", "NOPE", "--out", str(tmp_path / "nope.zip")], data)
    assert result.exit_code == 1 and "NOPE" in result.stderr
    assert not (tmp_path / "nope.zip").exists()
