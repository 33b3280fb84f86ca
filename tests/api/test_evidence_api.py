"""``GET /lots/{id}/evidence``: a zip that verifies, for readers who see every site it
reaches; 403 naming the hidden sites otherwise, 404 for an unknown lot; on both stores."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import zipfile
from collections import Counter
from typing import Any

from graph.model import Label
from queries.evidence import collect_evidence, verify_evidence
from queries.recall import recall
from tests.api.conftest import Api


class _Enough(Exception):
    """Stops collecting evidence once the sites are known."""


def package_sites(api: Api, lot_id: str) -> set[str]:
    seen: set[str] = set()

    def keep(sites: set[str]) -> None:
        seen.update(sites)
        raise _Enough

    with contextlib.suppress(_Enough):
        collect_evidence(api.store, lot_id, check_sites=keep)
    return seen


def _lots(api: Api) -> list[str]:
    with open(api.meta_path("lots.csv"), encoding="utf-8") as fh:
        return [row["lot_id"] for row in csv.DictReader(fh)]


def _fan_out(api: Api) -> str:
    with open(api.meta_path("consumptions.csv"), encoding="utf-8") as fh:
        uses = Counter(row["lot_id"] for row in csv.DictReader(fh))
    return min(uses, key=lambda lot_id: (-uses[lot_id], lot_id))


def _lot_at(api: Api, site: str, *, alone: bool) -> str:
    """A lot at ``site`` whose package reaches only that site (``alone``) or others too."""
    ids = _lots(api)
    found = api.store.fetch_nodes(Label.LOT, ids)
    for lot_id in ids:
        if found[lot_id].props.get("site") != site:
            continue
        sites = package_sites(api, lot_id)
        if (sites == {site}) is alone:
            return lot_id
    raise AssertionError(f"the plant has no lot at {site} with alone={alone}")


def _zip_files(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _assert_error(reply: Any, status: int, code: str) -> dict[str, str]:
    assert reply.status_code == status, reply.text
    body: dict[str, str] = reply.json()
    assert set(body) == {"error", "detail"} and body["error"] == code and body["detail"], body
    return body


def test_a_reader_who_sees_every_site_gets_a_zip_that_verifies(api: Api) -> None:
    lot_id = _fan_out(api)
    for account in ("auditor", "inv-all"):
        reply = api.get(account, f"/lots/{lot_id}/evidence")
        assert reply.status_code == 200, reply.text
        assert reply.headers["content-type"] == "application/zip"
        disposition = reply.headers["content-disposition"]
        assert disposition.startswith(f'attachment; filename="evidence-{lot_id}.zip"')
        check = verify_evidence(reply.content)
        assert check.ok, check.problems
        assert reply.headers["x-evidence-manifest-sha256"] == check.manifest_sha256
        assert (check.lot, check.created_by) == (lot_id, account)
        files = _zip_files(reply.content)
        assert json.loads(files["recall.json"]) == recall(api.store, [lot_id]).model_dump(
            mode="json"
        )


def test_readers_of_one_site_get_the_packages_within_it(api: Api) -> None:
    lot_id = _lot_at(api, "SITE-A", alone=True)
    for account in ("inv-a", "qa-a"):
        reply = api.get(account, f"/lots/{lot_id}/evidence")
        assert reply.status_code == 200, (account, reply.text)
        assert verify_evidence(reply.content).ok


def test_a_package_reaching_a_hidden_site_is_403_naming_it(api: Api) -> None:
    lot_id = _lot_at(api, "SITE-A", alone=False)
    hidden = sorted(package_sites(api, lot_id) - {"SITE-A"})
    body = _assert_error(api.get("inv-a", f"/lots/{lot_id}/evidence"), 403, "forbidden")
    for site in hidden:
        assert site in body["detail"]
    assert "SITE-A" not in body["detail"] and lot_id in body["detail"]
    # the lot's own site hidden: refused as well
    found = api.store.fetch_nodes(Label.LOT, _lots(api))
    other = next(i for i, n in sorted(found.items()) if n.props.get("site") == "SITE-B")
    body = _assert_error(api.get("inv-a", f"/lots/{other}/evidence"), 403, "forbidden")
    assert "SITE-B" in body["detail"]


def test_unknown_lot_other_roles_and_no_bearer(api: Api) -> None:
    _assert_error(api.get("auditor", "/lots/NO-SUCH-LOT/evidence"), 404, "not_found")
    lot_id = _fan_out(api)
    for account in ("integrator", "admin"):
        _assert_error(api.get(account, f"/lots/{lot_id}/evidence"), 403, "forbidden")
    _assert_error(api.get(None, f"/lots/{lot_id}/evidence"), 401, "not_authenticated")
