"""schemathesis against the app's own /openapi.json: no 5xx, and no response that breaks the
schema it publishes (status code, media type, body); on both stores, over a generated plant.

The app is the one the ``api`` fixture serves in-process (no network). Every operation of
the schema gets, in this order:

1. hand-made cases with real ids from the plant, each of which must answer 2xx (fuzzed ids
   are mostly unknown: without these the 2xx answers would go unchecked);
2. a few generated cases without a valid bearer, which must answer only the documented 401;
3. a bounded, derandomized number of generated cases with a bearer whose role may call the
   operation; as many again around real ids (a real id in the path, or real lots and
   analytes in the body, the rest generated); and negative cases, made invalid on purpose.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
import traceback
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from graph.model import Label
from ingest.mapping import FILES
from queries.trace import Direction, trace
from tests.api.conftest import PASSWORD, Api
from tests.api.test_batch_release import ready_batch
from tests.bundles import MATERIALS, lot, write_bundle, zip_bundle

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Cases generated per operation, the same on every run; LOTGRAPH_FUZZ_EXAMPLES=300 looks deeper.
EXAMPLES = int(os.environ.get("LOTGRAPH_FUZZ_EXAMPLES", "20"))
NEGATIVE_EXAMPLES = max(1, EXAMPLES * 2 // 5)  # made invalid on purpose: a 4xx, never a 5xx
UNAUTHENTICATED_EXAMPLES = max(1, EXAMPLES // 5)  # per secured operation: only its 401
# Fewer for the operations that hash or verify an argon2 secret on every call (~0.1-0.7 s
# each here, by design: a sign-in with an unknown name costs what a known one does).
# And for the reads of the whole plant's workflow (GET /work takes no parameter at all).
SLOW_EXAMPLES = {
    "POST /auth/token": max(1, EXAMPLES // 3),
    "POST /auth/sessions": max(1, EXAMPLES // 3),
    "POST /accounts": max(1, EXAMPLES // 2),
    "GET /work": max(1, EXAMPLES // 10),
    "GET /kpis": max(1, EXAMPLES // 2),
}

# Operations fuzzed but with no hand-made 2xx case, and why. An operation of the schema in
# neither this table nor _seeds() fails the test: nothing is left out silently.
NO_SEED: dict[str, str] = {}

# Fuzzed last, in this order: they add, lock and disable accounts.
LAST = (
    "POST /accounts",
    "POST /auth/token",
    "POST /auth/sessions",
    "POST /accounts/{name}/disable",
)

_ZIP = "application/zip"


# The columns of each bundle file, and cell values that sometimes refer to something real.
COLUMNS = {spec.name: list(spec.model.model_fields) for spec in FILES}
CELLS = ["", "MAT-X", "L-FUZZ-1", "SITE-A", "100", "-5", "kg", "released", "2026-01-05T08:00:00"]


@st.composite
def _bundle_zip(draw: st.DrawFn) -> bytes:
    """A .zip of bundle-named members (a few odd names too) holding made-up rows or bytes."""
    names = [*COLUMNS, "../lots.csv", "sub/lots.csv", "notes.txt"]
    meta = st.fixed_dictionaries(
        {"source": st.text(max_size=8)},
        optional={"timezone": st.sampled_from(["UTC", "Europe/Zurich", "Mars/Olympus"])},
    ).map(lambda m: json.dumps(m).encode())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        if draw(st.booleans()):
            zf.writestr("bundle.json", draw(meta | st.binary(max_size=20)))
        for name in draw(st.lists(st.sampled_from(names), max_size=3, unique=True)):
            columns = COLUMNS.get(name.rpartition("/")[2], ["x"])
            header = draw(st.just(columns) | st.lists(st.sampled_from(columns), min_size=1))
            cell = st.sampled_from(CELLS) | st.text(max_size=10)
            rows = draw(st.lists(st.lists(cell, max_size=len(header) + 1), max_size=4))
            text = io.StringIO()
            csv.writer(text).writerows([header, *rows])
            zf.writestr(name, draw(st.just(text.getvalue().encode()) | st.binary(max_size=40)))
    return buffer.getvalue()


# POST /ingest/bundles takes a raw application/zip body, which schemathesis has no generator
# for (SerializationNotPossible): garbage bytes, and zips of made-up bundles.
schemathesis.openapi.media_type("application/zip", st.binary(max_size=64) | _bundle_zip())
# POST /ingest/epcis takes a raw EPCIS document: garbage bytes, and the reference genealogy.
_EPCIS_DOC = (
    Path(__file__).resolve().parents[1]
    / "data"
    / "epcis"
    / "opentraceability"
    / "traceback_tests.jsonld"
).read_bytes()
for _media in ("application/ld+json", "application/xml"):
    schemathesis.openapi.media_type(_media, st.binary(max_size=64) | st.just(_EPCIS_DOC))


@pytest.fixture(autouse=True)
def _hypothesis_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Hypothesis's caches (constants, unicode data) in a temporary folder, not the repo's."""
    set_hypothesis_home_dir(tmp_path_factory.mktemp("hypothesis"))
    yield
    set_hypothesis_home_dir(None)


def _served(api: Api) -> Callable[..., Any]:
    """The fixture's app, for schemathesis's ASGI transport, without a second lifespan.

    The transport starts an app's lifespan itself; this app's would open the fixture's store
    a second time and close it under the fixture's feet. The fixture's TestClient has run
    the lifespan already (app.state is set), so the lifespan is declined here."""
    app = api.client.app

    async def served(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            raise RuntimeError("the api fixture runs this app's lifespan")
        await app(scope, receive, send)

    return served


def _column(api: Api, name: str, column: str) -> list[str]:
    with open(api.meta_path(name), encoding="utf-8") as fh:
        return [row[column] for row in csv.DictReader(fh)]


def _site_a_lots(api: Api) -> list[str]:
    ids = _column(api, "lots.csv", "lot_id")
    found = api.store.fetch_nodes(Label.LOT, ids)
    return [i for i in ids if found[i].props.get("site") == "SITE-A"]


def _seeds(api: Api, tmp_path: Path) -> dict[str, list[dict[str, Any]]]:
    """Hand-made cases with real ids from the plant, by operation; each must answer 2xx.

    The writes of documents, signatures and holds are called as qa-a (SITE-A, see
    _account); what they need is set up here first: documents of their own (so that no
    seed changes another's latest version), and a SITE-A lot on hold to release.
    """
    planted = api.meta["synthetic"]["planted"]
    root, supplier, analyte = planted["lot"], planted["supplier"], planted["analyte"]
    batch = trace(api.store, root, Direction.FORWARD).batches[0]
    documents = _column(api, "documents.csv", "document_id")
    change = _column(api, "supplier_changes.csv", "change_id")[0]
    change_of = _column(api, "supplier_changes.csv", "supplier_id")[0]
    other_lots = _column(api, "lots.csv", "lot_id")[:3]
    bundle = write_bundle(
        tmp_path / "fuzz-bundle", {"materials.csv": MATERIALS, "lots.csv": [lot("FUZZ-UP-1")]}
    )
    held, free = _site_a_lots(api)[:2]
    ready = ready_batch(api, tmp_path)["batch"]  # a SITE-A batch qa-a may release
    for doc_id in ("FUZZ-SEED-VERSIONS", "FUZZ-SEED-SIGN"):
        body = {"id": doc_id, "kind": "sop", "title": doc_id, "content": {"step": 1}}
        assert api.post("inv-all", "/documents", json=body).status_code == 201
    diffed = {"content": {"step": 2, "note": "é"}, "reason": "fuzz seed"}
    assert api.post("inv-all", "/documents/FUZZ-SEED-SIGN/versions", json=diffed).status_code == 201
    hold = {"reason": "fuzz seed", "password": PASSWORD}
    assert api.post("qa-a", f"/lots/{held}/holds", json=hold).status_code == 201
    sessions = [
        api.client.post(
            "/auth/sessions", data={"username": "auditor", "password": PASSWORD}
        ).json()["session_id"]
        for _ in range(2)
    ]
    events = {
        "source": "FUZZ",
        "timezone": "UTC",
        "records": {"materials": MATERIALS, "lots": [lot("FUZZ-EV-1")]},
    }
    return {
        "GET /health": [{}],
        "POST /auth/token": [{"body": {"username": "auditor", "password": PASSWORD}}],
        "POST /auth/sessions": [{"body": {"username": "auditor", "password": PASSWORD}}],
        "POST /auth/sessions/token": [{"body": {"session_id": sessions[0]}}],
        "POST /auth/sessions/end": [{"body": {"session_id": sessions[1]}}],
        "GET /auth/me": [{}],
        "GET /lots/{lot_id}": [{"path_parameters": {"lot_id": i}} for i in [root, *other_lots]],
        "GET /batches/{batch_id}": [{"path_parameters": {"batch_id": batch}}],
        "GET /documents/{document_id}": [
            {"path_parameters": {"document_id": d}} for d in documents[:2]
        ],
        "GET /lots/{lot_id}/trace": [
            {"path_parameters": {"lot_id": root}, "query": {"direction": d}}
            for d in ("forward", "backward")
        ],
        "GET /lots/{lot_id}/epcis": [
            {"path_parameters": {"lot_id": root}, "query": {"direction": d}}
            for d in ("forward", "backward")
        ],
        "POST /investigations/recall": [
            {"body": {"lot_ids": [root]}},
            {"body": {"lot_ids": other_lots}},
        ],
        "GET /suppliers/{supplier_id}/impact": [
            {"path_parameters": {"supplier_id": supplier}},
            {
                "path_parameters": {"supplier_id": supplier},
                "query": {"since": "2025-01-01", "material": planted["material"]},
            },
            {"path_parameters": {"supplier_id": change_of}, "query": {"change": change}},
        ],
        "POST /investigations/impurity": [{"body": {"analyte": analyte}}],
        "GET /batches/{batch_id}/custody": [{"path_parameters": {"batch_id": batch}}],
        "GET /analytes/{analyte}/results": [
            {"path_parameters": {"analyte": analyte}},
            {"path_parameters": {"analyte": analyte}, "query": {"limit": 3}},
        ],
        "GET /search": [{"query": {"q": q}} for q in (root, batch, supplier, documents[0])],
        "GET /lots/{lot_id}/documents": [{"path_parameters": {"lot_id": root}}],
        "GET /documents/{document_id}/lots": [
            {"path_parameters": {"document_id": d}} for d in documents[:2]
        ],
        "GET /documents/{document_id}/verify": [
            {"path_parameters": {"document_id": d}} for d in [*documents[:2], "FUZZ-SEED-VERSIONS"]
        ],
        "GET /documents/{document_id}/diff": [
            {"path_parameters": {"document_id": "FUZZ-SEED-SIGN"}, "query": q}
            for q in ({"from": 1, "to": 2}, {"from": 2, "to": 1}, {"from": 2, "to": 2})
        ],
        "POST /documents": [
            {
                "body": {
                    "id": "FUZZ-DOC-1",
                    "kind": "qc_report",
                    "title": "A report",
                    "content": {"assay": 99.2, "analyst": "n.n.", "notes": ["é", None, True]},
                    "concerns": [{"target_kind": "supplier", "target_id": supplier}],
                }
            },
            {"body": {"id": "FUZZ-DOC-2", "kind": "sop", "title": "Empty", "content": {}}},
        ],
        "POST /documents/{document_id}/versions": [
            {
                "path_parameters": {"document_id": "FUZZ-SEED-VERSIONS"},
                "body": {"content": {"step": 2}, "reason": "fuzz seed"},
            }
        ],
        "POST /documents/{document_id}/versions/{version}/signatures": [
            {
                "path_parameters": {"document_id": "FUZZ-SEED-SIGN", "version": 2},
                "body": {"meaning": "reviewed", "password": PASSWORD},
            }
        ],
        "GET /lots/{lot_id}/holds": [{"path_parameters": {"lot_id": i}} for i in (held, root)],
        "GET /batches/{batch_id}/release": [{"path_parameters": {"batch_id": batch}}],
        "POST /batches/{batch_id}/release": [
            {"path_parameters": {"batch_id": ready}, "body": {"password": PASSWORD}}
        ],
        "GET /work": [{}],
        "GET /kpis": [{}, {"query": {"since": "2025-01-01", "until": "2026-01-01"}}],
        "GET /suppliers/{supplier_id}": [
            {"path_parameters": {"supplier_id": s}} for s in (supplier, change_of)
        ],
        # decisions are appended: the second supersedes the first
        "POST /suppliers/{supplier_id}/changes/{change_id}/decisions": [
            {
                "path_parameters": {"supplier_id": change_of, "change_id": change},
                "body": {"decision": d, "reason": "fuzz seed", "password": PASSWORD},
            }
            for d in ("extra_testing", "accepted")
        ],
        # the evidence package (api/evidence): the auditor sees every site it reaches
        "GET /lots/{lot_id}/evidence": [{"path_parameters": {"lot_id": root}}],
        "POST /lots/{lot_id}/holds": [{"path_parameters": {"lot_id": free}, "body": hold}],
        "POST /lots/{lot_id}/holds/release": [{"path_parameters": {"lot_id": held}, "body": hold}],
        "POST /ingest/bundles": [
            {"body": zip_bundle(bundle, tmp_path / "fuzz.zip").read_bytes(), "media_type": _ZIP}
        ],
        "POST /ingest/events": [
            {"body": events},
            {"body": events, "headers": {"Idempotency-Key": "fuzz-1"}},
            {"body": events, "headers": {"Idempotency-Key": "fuzz-1"}},  # the answer again
        ],
        "POST /ingest/epcis": [
            {"body": _EPCIS_DOC, "media_type": "application/ld+json"},
            {
                "body": _EPCIS_DOC,
                "media_type": "application/ld+json",
                "headers": {"Idempotency-Key": "fuzz-e"},
            },
        ],
        "GET /ingest/rejections": [{}, {"query": {"limit": 1}}],
        "GET /audit": [
            {},
            {"query": {"limit": 2, "cursor": "1"}},
            {"query": {"actor": "test", "class": "write", "since": "2020-01-01", "limit": 3}},
            {"query": {"entity_id": root, "kind": "read", "until": "2999-01-01T00:00:00Z"}},
        ],
        "GET /audit.csv": [{}, {"query": {"actor": "auditor", "class": "read"}}],
        "GET /audit/verify": [{}],
        "GET /accounts": [{}],
        "POST /accounts": [
            {"body": {"name": "fuzz-key", "role": "integrator", "api_key": True}},
            {
                "body": {
                    "name": "fuzz-person",
                    "role": "investigator",
                    "sites": ["SITE-A"],
                    "password": PASSWORD,
                }
            },
        ],
        # inv-a: an account of the fixture this test signs in with nowhere
        "POST /accounts/{name}/disable": [{"path_parameters": {"name": "inv-a"}}],
        "GET /accounts/{name}": [{"path_parameters": {"name": "auditor"}}],
        "POST /accounts/{name}/unlock": [{"path_parameters": {"name": "qa-b"}}],
    }


def _real_ids(api: Api) -> dict[str, list[str]]:
    """A few real ids of each kind, spread over the plant, by path parameter name."""
    planted = api.meta["synthetic"]["planted"]

    def spread(ids: list[str], first: str | None = None) -> list[str]:
        return ([first] if first else []) + ids[:: max(1, len(ids) // 6)][:6]

    return {
        "lot_id": spread(_column(api, "lots.csv", "lot_id"), planted["lot"]),
        "batch_id": spread(_column(api, "batches.csv", "batch_id")),
        "document_id": spread(_column(api, "documents.csv", "document_id")),
        "supplier_id": spread(_column(api, "suppliers.csv", "supplier_id"), planted["supplier"]),
        "analyte": sorted(set(_column(api, "test_results.csv", "analyte"))),
    }


def _around_real_ids(op: APIOperation, ids: dict[str, list[str]]) -> Any:
    """Generated cases whose path or body names real ids, the rest fuzzed: the 2xx vary."""
    if op.label == "POST /investigations/recall":
        real = st.sampled_from(ids["lot_id"])
        lot_ids = st.lists(real, min_size=1) | st.lists(real | st.text(max_size=8), min_size=1)
        return lot_ids.map(lambda lots: op.Case(body={"lot_ids": lots}))
    if op.label == "POST /investigations/impurity":
        analyte = st.sampled_from(ids["analyte"])
        return (analyte | analyte.map(str.lower)).map(lambda a: op.Case(body={"analyte": a}))
    names = [p["name"] for p in op.definition.raw.get("parameters", []) if p["in"] == "path"]
    if len(names) != 1 or names[0] not in ids:
        return None
    return st.one_of([op.as_strategy(path_parameters={names[0]: i}) for i in ids[names[0]]])


def _account(op: APIOperation) -> str:
    """An account whose role may call the operation."""
    path = op.path
    if op.method.upper() == "POST" and (
        path.startswith("/documents")
        or "/holds" in path
        or path.endswith("/release")
        or path.endswith("/decisions")
    ):
        return "qa-a"  # documents, signatures, holds, releases, decisions: a qa person of SITE-A
    if path.startswith("/ingest"):
        return "integrator"
    if path.startswith("/accounts"):
        return "admin"
    return "auditor"  # every read, and the audit trail


def _fuzz(strategy: st.SearchStrategy[Any], examples: int, call: Callable[[Any], None]) -> None:
    @settings(
        max_examples=examples,
        derandomize=True,  # the same cases on every run
        database=None,  # no example database written into the repository
        deadline=None,
        phases=(Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(strategy)
    def run(drawn: Any) -> None:
        call(drawn)

    run()


def _secured(op: APIOperation) -> bool:
    return bool(op.definition.raw.get("security", op.schema.raw_schema.get("security")))


def _strategy(op: APIOperation, mode: GenerationMode = GenerationMode.POSITIVE) -> Any:
    strategy = op.as_strategy(mode)
    if op.label == "POST /accounts/{name}/disable":
        # the schema's own words come up as names: not the admin this fuzzing calls with, or
        # every later case would be a 401 (the disable of an account is a hand-made case)
        strategy = strategy.filter(lambda case: case.path_parameters.get("name") != "admin")
    return strategy


def _raised_at(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)[-6:])


def _has_input(op: APIOperation) -> bool:
    return bool(op.definition.raw.get("parameters") or op.definition.raw.get("requestBody"))


def test_openapi_schema_holds_under_fuzzing(api: Api, tmp_path: Path) -> None:
    started = time.perf_counter()
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", _served(api), config=schemathesis.Config()
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda op: LAST.index(op.label) + 1 if op.label in LAST else 0)
    seeds = _seeds(api, tmp_path)
    failures: list[str] = []
    statuses: dict[str, Counter[int]] = {op.label: Counter() for op in operations}
    unseeded = [op.label for op in operations if op.label not in seeds and op.label not in NO_SEED]
    if unseeded:
        failures.append(f"no hand-made 2xx case for {unseeded}: add one to _seeds() or NO_SEED")

    def fail(label: str, what: str, exc: BaseException) -> None:
        # a check's failure says what and how to reproduce it; an exception the app raised
        # (a 500, which the in-process transport re-raises) is shown where it was raised
        text = str(exc) if isinstance(exc, FailureGroup) else _raised_at(exc)
        notes = "\n".join(getattr(exc, "__notes__", ()))
        failures.append(f"--- {label}, {what}: {type(exc).__name__}\n{text}\n{notes}")

    def headers(op: APIOperation) -> dict[str, str]:
        if not _secured(op):
            return {}
        return {"Authorization": f"Bearer {api.tokens[_account(op)]}"}

    # 1. the hand-made cases, first: the fuzzing below may disable or lock accounts
    for op in operations:
        for kwargs in seeds.get(op.label, []):
            try:
                reply = op.Case(**kwargs).call_and_validate(headers=headers(op), checks=CHECKS)
                assert reply.status_code < 300, (reply.status_code, reply.text)
            except Exception as exc:
                fail(op.label, f"hand-made case {kwargs}", exc)

    # 2. no bearer, or one schemathesis made up (never a valid one): only the documented 401
    def unauthenticated(drawn: tuple[Case, bool]) -> None:
        case, keep = drawn
        if not keep:
            case.headers.pop("Authorization", None)
        reply = case.call_and_validate(checks=CHECKS)
        assert reply.status_code == 401, (reply.status_code, reply.text)
        assert reply.json()["error"] == "not_authenticated", reply.text

    for op in operations:
        if _secured(op):
            try:
                strategy = st.tuples(op.as_strategy(), st.booleans())
                _fuzz(strategy, UNAUTHENTICATED_EXAMPLES, unauthenticated)
            except Exception as exc:
                fail(op.label, "without a valid bearer", exc)

    # 3. generated cases with a bearer that may call the operation, valid then invalid ones
    ids = _real_ids(api)
    for op in operations:
        bearer = headers(op)

        def call(case: Case, bearer: dict[str, str] = bearer) -> None:
            reply = case.call_and_validate(headers=bearer, checks=CHECKS)
            statuses[case.operation.label][reply.status_code] += 1

        try:
            _fuzz(_strategy(op), SLOW_EXAMPLES.get(op.label, EXAMPLES), call)
        except Exception as exc:
            fail(op.label, "generated cases", exc)
        if (around := _around_real_ids(op, ids)) is not None:
            try:
                _fuzz(around, EXAMPLES, call)
            except Exception as exc:
                fail(op.label, "generated cases on real ids", exc)
        if not _has_input(op):
            continue  # nothing to make invalid: no parameter, no body (GET /health, /accounts)
        try:
            _fuzz(_strategy(op, GenerationMode.NEGATIVE), NEGATIVE_EXAMPLES, call)
        except Exception as exc:
            fail(op.label, "negative cases", exc)

    elapsed = time.perf_counter() - started
    print(f"\n{len(operations)} operations fuzzed on {api.store.kind} in {elapsed:.1f} s")
    for label, seen in statuses.items():  # with -s: what the generated cases got back
        print(f"  {label}: " + ", ".join(f"{n} x {code}" for code, n in sorted(seen.items())))
    assert not failures, f"seed {api.meta['seed']}:\n" + "\n\n".join(failures)
