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
