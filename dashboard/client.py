"""The dashboard's own thin HTTP client of the lotgraph API (DESIGN §1: every read goes
through the API, so authorisation and the access audit stay in one place)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx


class ApiFailure(Exception):
    """The API answered with an error body, or could not be reached."""

    def __init__(self, status: int | None, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail

    @property
    def signed_out(self) -> bool:
        return self.status == 401


@dataclass(frozen=True)
class Token:
    access_token: str
    expires_in: int


@dataclass(frozen=True)
class SessionStart:
    """A new dashboard session: its id (for the browser's cookie), its lifetime in seconds
    and a first token."""

    session_id: str
    expires_in: int
    token: Token
    username: str


def _segment(value: str) -> str:
    return quote(value, safe="")


class ApiClient:
    """One caller's view of the API: a shared connection pool and the caller's bearer."""

    def __init__(self, http: httpx.Client, token: str | None = None) -> None:
        self._http = http
        self._token = token

    def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._reply(method, path, **kwargs).json()

    def _reply(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        headers.update(kwargs.pop("headers", None) or {})  # an Idempotency-Key, say
        try:
            reply = self._http.request(method, path, headers=headers, **kwargs)
        except httpx.TimeoutException:
            raise ApiFailure(None, "timeout", "the API did not answer in time") from None
        except httpx.HTTPError as exc:
            raise ApiFailure(
                None, "unreachable", f"cannot reach the API at {self._http.base_url}: {exc}"
            ) from None
        if reply.is_success:
            return reply
        try:
            body = reply.json()
            code, detail = str(body["error"]), str(body["detail"])
        except (ValueError, KeyError, TypeError):
            code, detail = "http_error", f"HTTP {reply.status_code}: {reply.text[:200]}"
        raise ApiFailure(reply.status_code, code, detail)

    def sign_in(self, username: str, password: str) -> Token:
        body = self._send("POST", "/auth/token", data={"username": username, "password": password})
        return Token(access_token=body["access_token"], expires_in=int(body["expires_in"]))

    # dashboard sessions (docs/API.md, Sessions): the id is sent in a body, never in a URL
    def start_session(self, username: str, password: str) -> SessionStart:
        body = self._send(
            "POST", "/auth/sessions", data={"username": username, "password": password}
        )
        return SessionStart(
            session_id=str(body["session_id"]),
            expires_in=int(body["session_expires_in"]),
            token=Token(body["access_token"], int(body["expires_in"])),
            username=str(body["username"]),
        )

    def session_token(self, session_id: str) -> tuple[Token, str]:
        """A fresh token for a live session and whose it is (401 once it has ended)."""
        body = self._send("POST", "/auth/sessions/token", json={"session_id": session_id})
        return Token(body["access_token"], int(body["expires_in"])), str(body["username"])

    def me(self) -> dict[str, Any]:
        """Who the token is for and the actions their role may take (``may``)."""
        return self._send("GET", "/auth/me")

    def end_session(self, session_id: str) -> None:
        self._reply("POST", "/auth/sessions/end", json={"session_id": session_id})

    def search(self, query: str) -> dict[str, Any]:
        return self._send("GET", "/search", params={"q": query})

    def trace(self, lot: str, direction: str = "forward") -> dict[str, Any]:
        path = f"/lots/{_segment(lot)}/trace"
        return self._send("GET", path, params={"direction": direction})

    def recall(self, lots: list[str]) -> dict[str, Any]:
        return self._send("POST", "/investigations/recall", json={"lot_ids": lots})

    def impact(
        self,
        supplier: str,
        since: str | None = None,
        material: str | None = None,
        change: str | None = None,
    ) -> dict[str, Any]:
        wanted = {"since": since, "material": material, "change": change}
        params = {name: value for name, value in wanted.items() if value}
        path = f"/suppliers/{_segment(supplier)}/impact"
        return self._send("GET", path, params=params)

    def impurity(
        self,
        analyte: str,
        flag: str = "any",
        baseline_until: str | None = None,
        top: int | None = None,
    ) -> dict[str, Any]:
        """The factors the units flagged by ``flag`` (oos, oot or any) share; the control
        limits from the results before ``baseline_until`` (a date) when given."""
        body: dict[str, Any] = {"analyte": analyte, "flag": flag}
        if baseline_until:
            body["baseline_until"] = baseline_until
        if top is not None:
            body["top"] = top
        return self._send("POST", "/investigations/impurity", json=body)

    def analyte_results(
        self, analyte: str, limit: int = 5_000, baseline_until: str | None = None
    ) -> dict[str, Any]:
        path = f"/analytes/{_segment(analyte)}/results"
        params: dict[str, Any] = {"limit": limit}
        if baseline_until:
            params["baseline_until"] = baseline_until
        return self._send("GET", path, params=params)

    def custody(self, batch: str) -> dict[str, Any]:
        return self._send("GET", f"/batches/{_segment(batch)}/custody")

    def lot_documents(self, lot: str) -> dict[str, Any]:
        return self._send("GET", f"/lots/{_segment(lot)}/documents")

    def document_lots(self, document: str) -> dict[str, Any]:
        return self._send("GET", f"/documents/{_segment(document)}/lots")

    def evidence(self, lot: str) -> bytes:
        """The lot's evidence package (a zip), as the API builds it."""
        return self._reply("GET", f"/lots/{_segment(lot)}/evidence").content

    # -- lots, holds and suppliers (the signed writes take the intent's Idempotency-Key) --
    def lot(self, lot: str) -> dict[str, Any]:
        return self._send("GET", f"/lots/{_segment(lot)}")

    def lot_holds(self, lot: str) -> dict[str, Any]:
        return self._send("GET", f"/lots/{_segment(lot)}/holds")

    def place_hold(self, lot: str, reason: str, password: str, key: str) -> dict[str, Any]:
        return self._send(
            "POST",
            f"/lots/{_segment(lot)}/holds",
            json={"reason": reason, "password": password},
            headers={"Idempotency-Key": key},
        )

    def release_hold(self, lot: str, reason: str, password: str, key: str) -> dict[str, Any]:
        return self._send(
            "POST",
            f"/lots/{_segment(lot)}/holds/release",
            json={"reason": reason, "password": password},
            headers={"Idempotency-Key": key},
        )

    def supplier(self, supplier: str) -> dict[str, Any]:
        return self._send("GET", f"/suppliers/{_segment(supplier)}")

    def decide_supplier_change(
        self, supplier: str, change: str, decision: str, reason: str, password: str, key: str
    ) -> dict[str, Any]:
        return self._send(
            "POST",
            f"/suppliers/{_segment(supplier)}/changes/{_segment(change)}/decisions",
            json={"decision": decision, "reason": reason, "password": password},
            headers={"Idempotency-Key": key},
        )

    # -- the audit trail (auditor) ----------------------------------------------------------
    def audit(
        self, filters: dict[str, str], cursor: str | None = None, limit: int = 100
    ) -> dict[str, Any]:
        """One page of the entries ``filters`` select (actor, entity_id, kind, class,
        since, until; GET /audit), after ``cursor``."""
        params: dict[str, Any] = {**filters, "limit": limit}
        if cursor:
            params["cursor"] = cursor
        return self._send("GET", "/audit", params=params)

    def audit_csv(self, filters: dict[str, str]) -> bytes:
        """Every entry ``filters`` select, as the API's CSV (GET /audit.csv)."""
        return self._reply("GET", "/audit.csv", params=filters).content

    def audit_verify(self) -> dict[str, Any]:
        """The hash chain's verification (GET /audit/verify)."""
        return self._send("GET", "/audit/verify")

    # -- documents: the record, its verification, diffs and the signed writes ----------
    def document(self, document: str) -> dict[str, Any]:
        """The document's record: state, versions, signatures with their signers."""
        return self._send("GET", f"/documents/{_segment(document)}")

    def verify_document(self, document: str) -> dict[str, Any]:
        return self._send("GET", f"/documents/{_segment(document)}/verify")

    def document_diff(self, document: str, from_version: int, to_version: int) -> dict[str, Any]:
        path = f"/documents/{_segment(document)}/diff"
        return self._send("GET", path, params={"from": from_version, "to": to_version})

    def sign_document(
        self,
        document: str,
        version: int,
        meaning: str,
        password: str,
        idempotency_key: str,
    ) -> dict[str, Any]:
        """An e-signature on the version; a retry with the same key signs nothing more."""
        path = f"/documents/{_segment(document)}/versions/{version}/signatures"
        return self._send(
            "POST",
            path,
            json={"meaning": meaning, "password": password},
            headers={"Idempotency-Key": idempotency_key},
        )

    def add_document_version(
        self, document: str, content: dict[str, Any], reason: str, idempotency_key: str
    ) -> dict[str, Any]:
        """The document's next version; a retry with the same key adds nothing more."""
        return self._send(
            "POST",
            f"/documents/{_segment(document)}/versions",
            json={"content": content, "reason": reason},
            headers={"Idempotency-Key": idempotency_key},
        )

    # -- batch release, the work queue and the KPIs --------------------------------
    def release_checklist(self, batch: str) -> dict[str, Any]:
        """The batch's release state, batch record, release signature and blocking findings."""
        return self._send("GET", f"/batches/{_segment(batch)}/release")

    def release_batch(
        self,
        batch: str,
        password: str,
        idempotency_key: str,
        reason: str | None = None,
        override: bool = False,
    ) -> dict[str, Any]:
        """Sign the batch record released (over its overridable findings with ``override``);
        the same ``idempotency_key`` on a retry gets the first answer, never a second
        signature."""
        body: dict[str, Any] = {"password": password, "override": override}
        if reason:
            body["reason"] = reason
        reply = self._reply(
            "POST",
            f"/batches/{_segment(batch)}/release",
            json=body,
            headers={"Idempotency-Key": idempotency_key},
        )
        found: dict[str, Any] = reply.json()
        return found

    def work(self) -> dict[str, Any]:
        return self._send("GET", "/work")

    def kpis(self, since: str | None = None, until: str | None = None) -> dict[str, Any]:
        params = {k: v for k, v in (("since", since), ("until", until)) if v}
        return self._send("GET", "/kpis", params=params)
