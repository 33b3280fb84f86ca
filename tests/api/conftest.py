"""An API over a generated plant on each store, with one account per role."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth.schemas import Role
from api.auth.secrets import ApiKey, hash_secret
from api.settings import ApiSettings
from graph.records import Account
from graph.store import GraphStore, utc_now
from ingest.loader import ingest_bundle
from ingest.synthetic import generate_plant

PASSWORD = "correct horse battery staple"
SECRET = "test-secret-" + "x" * 40


@dataclass
class Api:
    client: TestClient
    store: GraphStore
    meta: dict[str, Any]
    tokens: dict[str, str] = field(default_factory=dict)  # account name -> bearer
    api_key: str = ""
    plant: Path = Path()

    def meta_path(self, name: str) -> Path:
        return self.plant / name

    def headers(self, account: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[account]}"}

    def get(self, account: str | None, path: str, **kw: Any) -> Any:
        return self.client.get(path, headers=self._with(account, kw), **kw)

    def post(self, account: str | None, path: str, **kw: Any) -> Any:
        return self.client.post(path, headers=self._with(account, kw), **kw)

    def _with(self, account: str | None, kw: dict[str, Any]) -> dict[str, str]:
        return {**(self.headers(account) if account else {}), **kw.pop("headers", {})}


# name -> role, sites
ACCOUNTS: dict[str, tuple[Role, list[str]]] = {
    "inv-a": (Role.INVESTIGATOR, ["SITE-A"]),
    "inv-all": (Role.INVESTIGATOR, ["*"]),
    "qa-b": (Role.QA, ["SITE-B"]),
    # two qa people of one site: an author and another signer (documents, holds)
    "qa-a": (Role.QA, ["SITE-A"]),
    "qa-a2": (Role.QA, ["SITE-A"]),
    "auditor": (Role.AUDITOR, []),
    "admin": (Role.ADMIN, []),
}


def settings(**overrides: Any) -> ApiSettings:
    return ApiSettings(secret_key=SECRET, access_flush_seconds=0.05, **overrides)


def api_key_account(store: GraphStore, name: str, role: str = "auditor") -> str:
    """An account of ``role`` with an API key, saved in the store: the key's text."""
    key = ApiKey.new()
    now = utc_now()
    account = Account(
        name, role, [], "api_key", hash_secret(key.secret), False, now, now, key_id=key.key_id
    )
    store.save_account(account, None)
    return key.text


@pytest.fixture(scope="session")
def secret_hashes() -> tuple[str, ApiKey, str]:
    """Slow hashes made once per session: the shared password's, and an API key with its own."""
    key = ApiKey.new()
    return hash_secret(PASSWORD), key, hash_secret(key.secret)


@pytest.fixture
def api(store: GraphStore, tmp_path: Path, secret_hashes: tuple[str, ApiKey, str]) -> Iterator[Api]:
    seed = random.randrange(1_000_000)  # a plant no test has seen
    plant = generate_plant(lots=240, seed=seed, out=tmp_path / "plant")
    with serve_api(store, plant.out, secret_hashes) as api:
        api.meta["seed"] = seed
        yield api


@contextmanager
def serve_api(
    store: GraphStore, plant: Path, secret_hashes: tuple[str, ApiKey, str]
) -> Iterator[Api]:
    """The API over ``store`` with the bundle at ``plant`` ingested and the ACCOUNTS (plus
    the API-key account ``integrator``) saved, each with a bearer token."""
    ingest_bundle(store, plant, actor="test")
    meta = json.loads((plant / "bundle.json").read_text())
    password_hash, key, key_hash = secret_hashes
    now = utc_now()
    accounts = [
        Account(name, str(role), sites, "password", password_hash, False, now, now)
        for name, (role, sites) in ACCOUNTS.items()
    ]
    accounts.append(
        Account(
            "integrator", "integrator", [], "api_key", key_hash, False, now, now, key_id=key.key_id
        )
    )
    for account in accounts:
        store.save_account(account, None)
    with TestClient(create_app(lambda: store, settings())) as client:
        api = Api(client, store, meta, api_key=key.text, plant=plant)
        authenticator = client.app.state.authenticator  # type: ignore[attr-defined]
        for account in accounts[:-1]:  # sign-in itself is tested in test_auth
            api.tokens[account.name] = authenticator.issue_token(account).access_token
        api.tokens["integrator"] = key.text
        yield api
