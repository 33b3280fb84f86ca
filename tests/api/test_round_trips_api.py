"""A recall and a trace through the API on Neo4j: the investigation is one query (issue 16,
item 4), with no read of the graph version around it for a caller who sees every site
(the site check of a caller of some sites reads more, in one snapshot)."""

from __future__ import annotations

import csv

import pytest

from graph.cypher_files import read_cypher
from tests.api.conftest import Api

pytestmark = pytest.mark.neo4j


@pytest.mark.parametrize("store", ["neo4j"], indirect=True)
def test_an_all_sites_recall_and_trace_are_one_query_each(api: Api, sent: list[str]) -> None:
    print(f"plant seed {api.meta['seed']}")
    with api.meta_path("consumptions.csv").open(encoding="utf-8") as fh:
        lot = next(row["lot_id"] for row in csv.DictReader(fh))
    version = read_cypher("graph_version")

    sent.clear()
    answer = api.post("inv-all", "/investigations/recall", json={"lot_ids": [lot]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["roots"] == [lot]
    assert sent.count(read_cypher("recall_view")) == 1
    assert version not in sent

    sent.clear()
    traced = api.get("inv-all", f"/lots/{lot}/trace?direction=forward")
    assert traced.status_code == 200, traced.text
    assert traced.json()["root"] == lot
    assert sent.count(read_cypher("trace_forward")) == 1
    assert version not in sent
