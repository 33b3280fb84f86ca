"""Who is calling, and what each role may do (DESIGN §4b)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, Field

ALL_SITES = "*"


class Role(StrEnum):
    INVESTIGATOR = "investigator"  # reads within its sites
    QA = "qa"  # investigator, plus holds and signatures
    AUDITOR = "auditor"  # reads everything, the audit trail included; writes nothing
    INTEGRATOR = "integrator"  # ingest only
    ADMIN = "admin"  # accounts only; signs nothing


READERS = frozenset({Role.INVESTIGATOR, Role.QA, Role.AUDITOR})


class Action(StrEnum):
    """What a caller may be allowed to do; each endpoint requires one (api/deps.py)."""

    READ = "read"  # investigations, records, work queue and KPIs
    WRITE_DOCUMENTS = "write_documents"  # new documents and versions
    SIGN = "sign"  # e-signatures on document versions
    HOLD = "hold"  # place and release holds
    RELEASE = "release"  # batch release, by override too
    DECIDE_SUPPLIER_CHANGE = "decide_supplier_change"
    INGEST = "ingest"
    READ_INGEST_REJECTIONS = "read_ingest_rejections"
    READ_AUDIT = "read_audit"
    MANAGE_ACCOUNTS = "manage_accounts"


# The one table of who may do what: the endpoints require it, GET /auth/me reports it.
MAY: dict[Action, frozenset[Role]] = {
    Action.READ: READERS,
    Action.WRITE_DOCUMENTS: frozenset({Role.INVESTIGATOR, Role.QA}),
    Action.SIGN: frozenset({Role.QA}),
    Action.HOLD: frozenset({Role.QA}),
    Action.RELEASE: frozenset({Role.QA}),
    Action.DECIDE_SUPPLIER_CHANGE: frozenset({Role.QA}),
    Action.INGEST: frozenset({Role.INTEGRATOR}),
    Action.READ_INGEST_REJECTIONS: frozenset({Role.INTEGRATOR, Role.AUDITOR}),
    Action.READ_AUDIT: frozenset({Role.AUDITOR}),
    Action.MANAGE_ACCOUNTS: frozenset({Role.ADMIN}),
}
# how a refusal names the action: "the auditor role may not <...>"
REFUSED: dict[Action, str] = {
    Action.READ: "read investigations",
    Action.WRITE_DOCUMENTS: "write documents",
    Action.SIGN: "sign documents",
    Action.HOLD: "place or release holds",
    Action.RELEASE: "release batches",
    Action.DECIDE_SUPPLIER_CHANGE: "decide on supplier changes",
    Action.INGEST: "ingest",
    Action.READ_INGEST_REJECTIONS: "read ingest rejections",
    Action.READ_AUDIT: "read the audit trail",
    Action.MANAGE_ACCOUNTS: "manage accounts",
}


def allowed(role: Role) -> list[Action]:
    """The actions a role may take, in the table's order."""
    return [action for action, roles in MAY.items() if role in roles]


@dataclass(frozen=True, slots=True)
class Caller:
    name: str
    role: Role
    sites: frozenset[str]

    @property
    def all_sites(self) -> bool:
        return self.role is Role.AUDITOR or ALL_SITES in self.sites

    def sees(self, site: str | None) -> bool:
        """A node without a site (supplier, customer, document, ...) is shared reference data."""
        return site is None or self.all_sites or site in self.sites


class MeOut(BaseModel):
    """Who the bearer is and what they may do: the dashboard shows a form only to those
    who may use it (the API still decides every request)."""

    username: str
    role: Role
    sites: list[str]  # "*" for every site
    may: list[Action]


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int  # seconds


class SessionOut(TokenOut):
    """A new dashboard session: its id (shown this once; the API keeps only its SHA-256)
    and a first token. ``expires_in`` is the token's, ``session_expires_in`` the session's."""

    session_id: str
    session_expires_at: str
    session_expires_in: int  # seconds
    username: str


class SessionTokenOut(TokenOut):
    """A token for a live session, and whose session it is."""

    username: str


class SessionIdIn(BaseModel):
    session_id: str = Field(min_length=1, max_length=256)
