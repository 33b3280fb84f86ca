"""A lot keyed by its EPC class URN answers to its GS1 Digital Link too: in every ``/lots/``
route, in the recall body and on the command line (docs/API.md "Lot ids"); on both stores,
over a generated plant whose lots are re-keyed as LGTIN URNs with random GTINs."""

from __future__ import annotations

import csv
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from typer.testing import CliRunner

from api.auth.secrets import ApiKey
from graph.identifiers import gs1_check_digit, lgtin_urn
from graph.model import Label
from graph.store import GraphStore
from ingest.synthetic import generate_plant
from lotgraph.cli import app as cli_app
from tests.api.conftest import Api, serve_api

_GENERATED_LOT = re.compile(r"\bL-\d{4}-\d{6}\b")
# characters a lot number may hold that a URN and a link must both percent-encode
_ODD = ["/", " ", "#", "%", "Ä", "?", "&"]
_HOSTS = ["https://id.gs1.org", "https://example.com/gs1/dl", "http://qr.plant.example"]


@dataclass
class GtinBundle:
    path: Path
    seed: int
    gtins: dict[str, tuple[str, str]]  # lot URN -> (GTIN-14, lot number)
    draw: random.Random


@dataclass
class GtinPlant(GtinBundle):
    api: Api


def _gtin(draw: random.Random) -> str:
    body = "0" + "".join(draw.choice("0123456789") for _ in range(12))
    return body + gs1_check_digit(body)


def rekey_lots(plant: Path, draw: random.Random) -> dict[str, tuple[str, str]]:
    """Give every lot of a generated bundle an LGTIN URN (a random GTIN per material, the
    generated id plus, for some, characters that need encoding, as the lot number) in every
    file of the bundle."""
    with (plant / "lots.csv").open(encoding="utf-8", newline="") as fh:
        lots = list(csv.DictReader(fh))
    gtin_of = {material: _gtin(draw) for material in sorted({r["material_id"] for r in lots})}
    urns: dict[str, str] = {}
    gtins: dict[str, tuple[str, str]] = {}
    for row in lots:
        number = row["lot_id"]
        if draw.random() < 0.4:
            number += draw.choice(_ODD) + draw.choice("AB1")
        urn = lgtin_urn(gtin_of[row["material_id"]], number)
        urns[row["lot_id"]] = urn
        gtins[urn] = (gtin_of[row["material_id"]], number)
    for path in plant.iterdir():
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            rekeyed = _GENERATED_LOT.sub(lambda m: json.dumps(urns[m.group(0)])[1:-1], text)
        else:
            rekeyed = _GENERATED_LOT.sub(lambda m: urns[m.group(0)], text)
        path.write_text(rekeyed, encoding="utf-8")
    return gtins


@pytest.fixture
def gtin_bundle(tmp_path: Path) -> GtinBundle:
    seed = random.randrange(1_000_000)
    print(f"lot-link plant seed {seed}")
    draw = random.Random(seed)
    plant = generate_plant(lots=240, seed=seed, out=tmp_path / "plant")
    return GtinBundle(plant.out, seed, rekey_lots(plant.out, draw), draw)


@pytest.fixture
def gtin_plant(
    store: GraphStore, gtin_bundle: GtinBundle, secret_hashes: tuple[str, ApiKey, str]
) -> Iterator[GtinPlant]:
    with serve_api(store, gtin_bundle.path, secret_hashes) as api:
        api.meta["seed"] = gtin_bundle.seed
        yield GtinPlant(
            gtin_bundle.path, gtin_bundle.seed, gtin_bundle.gtins, gtin_bundle.draw, api
        )


def link(plant: GtinBundle, urn: str) -> str:
    """A Digital Link of the lot, spelt one of the ways a scanner or a partner might."""
    gtin, number = plant.gtins[urn]
    draw = plant.draw
    host = draw.choice(_HOSTS)
    gtin_text = gtin if draw.random() < 0.5 else gtin.lstrip("0").zfill(13)
    serial = f"/21/{draw.randrange(10**6)}" if draw.random() < 0.3 else ""
    return f"{host}/01/{gtin_text}/10/{quote(number, safe='')}{serial}"


def lot_path(lot: str, route: str = "", *, raw: bool = False) -> str:
    """``/lots/<lot><route>``: the id as one encoded segment, or (raw) the link as it is."""
    return f"/lots/{lot if raw else quote(lot, safe='')}{route}"


def _sample(plant: GtinBundle, k: int) -> list[str]:
    return plant.draw.sample(sorted(plant.gtins), k)


def test_traces_by_link_equal_traces_by_urn(gtin_plant: GtinPlant) -> None:
    api, seed = gtin_plant.api, gtin_plant.api.meta["seed"]
    for urn in _sample(gtin_plant, 6):
        for direction in ("forward", "backward"):
            by_urn = api.get("inv-all", lot_path(urn, f"/trace?direction={direction}"))
            assert by_urn.status_code == 200, (seed, urn, by_urn.text)
            assert by_urn.json()["root"] == urn
            for raw in (False, True):
                dl = link(gtin_plant, urn)
                by_link = api.get("inv-all", lot_path(dl, f"/trace?direction={direction}", raw=raw))
                assert by_link.status_code == 200, (seed, dl, raw, by_link.text)
                assert by_link.json() == by_urn.json(), (seed, dl, raw)


def test_every_lot_route_takes_a_link(gtin_plant: GtinPlant) -> None:
    api = gtin_plant.api
    urn = _sample(gtin_plant, 1)[0]
    for route in ("", "/documents", "/holds", "/epcis?direction=backward"):
        by_urn = api.get("inv-all", lot_path(urn, route))
        for raw in (False, True):
            dl = link(gtin_plant, urn)
            by_link = api.get("inv-all", lot_path(dl, route, raw=raw))
            assert by_link.status_code == by_urn.status_code == 200, (route, dl, by_link.text)
            if route.startswith("/epcis"):  # a new document each time: compare its events
                events = [e["type"] for e in by_urn.json()["epcisBody"]["eventList"]]
                assert [e["type"] for e in by_link.json()["epcisBody"]["eventList"]] == events
            else:
                assert by_link.json() == by_urn.json(), (route, dl, raw)
    evidence = api.get("auditor", lot_path(link(gtin_plant, urn), "/evidence"))
    assert evidence.status_code == 200, evidence.text
    assert evidence.headers["content-type"] == "application/zip"
    entity = api.get("inv-all", lot_path(link(gtin_plant, urn), raw=True)).json()
    assert entity["id"] == urn


def test_recall_by_links_equals_recall_by_urns(gtin_plant: GtinPlant) -> None:
    api = gtin_plant.api
    urns = _sample(gtin_plant, 3)
    by_urn = api.post("inv-all", "/investigations/recall", json={"lot_ids": urns})
    by_link = api.post(
        "inv-all",
        "/investigations/recall",
        json={"lot_ids": [link(gtin_plant, u) for u in urns]},
    )
    assert by_urn.status_code == by_link.status_code == 200, by_link.text
    assert by_link.json() == by_urn.json()
    assert set(by_link.json()["roots"]) == set(urns)


def test_the_access_audit_names_the_lot_not_the_link(gtin_plant: GtinPlant) -> None:
    api = gtin_plant.api
    urn = _sample(gtin_plant, 1)[0]
    dl = link(gtin_plant, urn)
    assert api.get("inv-all", lot_path(dl, "/trace")).status_code == 200
    api.client.app.state.access_log.flush()  # type: ignore[attr-defined]
    reads = [
        e
        for e in api.store.audit_entries()
        if e["reason"] == "access" and e["entity"] == Label.LOT.value
    ]
    assert reads and reads[-1]["key"] == urn, reads[-1:]


def test_links_naming_no_lot_are_not_found(gtin_plant: GtinPlant) -> None:
    api = gtin_plant.api
    urn = _sample(gtin_plant, 1)[0]
    gtin, number = gtin_plant.gtins[urn]
    unknown = f"https://id.gs1.org/01/{gtin}/10/{quote(number + '-NOT-HERE', safe='')}"
    answer = api.get("inv-all", lot_path(unknown, "/trace"))
    assert answer.status_code == 404, answer.text
    assert "NOT-HERE" in answer.json()["detail"]
    wrong_digit = gtin[:-1] + str((int(gtin[-1]) + 1) % 10)
    broken = f"https://id.gs1.org/01/{wrong_digit}/10/{quote(number, safe='')}"
    assert api.get("inv-all", lot_path(broken, "/trace")).status_code == 404
    refused = api.post("inv-all", "/investigations/recall", json={"lot_ids": [broken]})
    assert refused.status_code == 404, refused.text


def test_the_command_line_takes_links(gtin_bundle: GtinBundle, tmp_path: Path) -> None:
    env = {"LOTGRAPH_STORE": "embedded", "LOTGRAPH_DATA_DIR": str(tmp_path / "cli")}
    runner = CliRunner()
    ingest = runner.invoke(cli_app, ["ingest", str(gtin_bundle.path), "--json"], env=env)
    assert ingest.exit_code == 0, ingest.output
    urns = _sample(gtin_bundle, 2)
    links = [link(gtin_bundle, u) for u in urns]

    def answer(*args: str) -> object:
        done = runner.invoke(cli_app, [*args, "--json"], env=env)
        assert done.exit_code == 0, (args, done.output)
        return json.loads(done.stdout)

    assert answer("trace", links[0], "--direction", "backward") == answer(
        "trace", urns[0], "--direction", "backward"
    )
    assert answer("recall", *links) == answer("recall", *urns)
    assert answer("documents", "--lot", links[1]) == answer("documents", "--lot", urns[1])
    out = tmp_path / "trace.jsonld"
    exported = runner.invoke(
        cli_app, ["epcis", "export", "--lot", links[0], "--out", str(out)], env=env
    )
    assert exported.exit_code == 0, exported.output
    assert out.exists() and urns[0] in out.read_text(encoding="utf-8")
