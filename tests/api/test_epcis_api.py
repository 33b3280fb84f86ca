"""``GET /lots/{id}/epcis`` and ``lotgraph epcis export``: one document, whichever way it
is asked for (docs/EPCIS.md "Export"); on both stores, over a plant generated at test time."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lotgraph.cli import app as cli_app
from queries.epcis_export import MEDIA_TYPE
from queries.trace import Direction, trace
from tests.api.conftest import Api
from tests.epcis.schema import assert_valid


def _cli_env(api: Api, request: pytest.FixtureRequest, data_dir: Path) -> dict[str, str]:
    """The settings that make `lotgraph` open the store the API serves."""
    if api.store.kind == "neo4j":
        info = request.getfixturevalue("neo4j_server")
        return {
            "LOTGRAPH_STORE": "neo4j",
            "NEO4J_URI": info.uri,
            "NEO4J_USER": info.user,
            "NEO4J_PASSWORD": info.password,
            "NEO4J_DATABASE": info.database,
        }
    return {"LOTGRAPH_STORE": "embedded", "LOTGRAPH_DATA_DIR": str(data_dir)}


def test_the_cli_writes_the_document_the_api_answers(
    api: Api, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    with open(api.meta_path("lots.csv"), encoding="utf-8") as fh:
        lots = [row["lot_id"] for row in csv.DictReader(fh)]
    root = max(lots[:30], key=lambda i: len(trace(api.store, i, Direction.FORWARD).batches))
    env = _cli_env(api, request, tmp_path)
    for direction in ("forward", "backward"):
        reply = api.get("auditor", f"/lots/{root}/epcis", params={"direction": direction})
        assert reply.status_code == 200, reply.text
        assert reply.headers["content-type"] == MEDIA_TYPE
        answered = reply.json()
        assert_valid(answered)
        assert answered["epcisBody"]["eventList"], f"seed {api.meta['seed']}: {root} {direction}"
        target = tmp_path / f"{direction}.jsonld"
        args = ["epcis", "export", "--lot", root, "--direction", direction, "--out", str(target)]
        result = CliRunner().invoke(cli_app, [*args, "--json"], env=env)
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        written = json.loads(target.read_bytes())
        assert summary["events"] == len(written["epcisBody"]["eventList"])
        assert summary["bytes"] == target.stat().st_size
        # the same bytes but for the creation date
        same_date = {**written, "creationDate": answered["creationDate"]}
        assert json.dumps(same_date, indent=2, ensure_ascii=False) + "\n" == reply.text
    # --out - writes the document itself to stdout
    args = ["epcis", "export", "--lot", root, "--direction", "backward", "--out", "-"]
    printed = CliRunner().invoke(cli_app, args, env=env)
    assert printed.exit_code == 0, printed.output
    assert {**json.loads(printed.stdout), "creationDate": None} == {
        **json.loads((tmp_path / "backward.jsonld").read_bytes()),
        "creationDate": None,
    }
    missing = CliRunner().invoke(
        cli_app, ["epcis", "export", "--lot", "NO-SUCH-LOT", "--out", str(tmp_path / "x")], env=env
    )
    assert missing.exit_code == 1 and not (tmp_path / "x").exists()
    folder = CliRunner().invoke(
        cli_app, ["epcis", "export", "--lot", root, "--out", str(tmp_path)], env=env
    )
    assert folder.exit_code == 2
    assert api.get("auditor", "/lots/NO-SUCH-LOT/epcis").status_code == 404
    bad = api.get("auditor", f"/lots/{root}/epcis", params={"direction": "sideways"})
    assert bad.status_code == 422
