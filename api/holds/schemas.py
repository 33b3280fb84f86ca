"""Holds as the API takes and gives them: the records of queries/holds.py."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from api.documents.schemas import Password, Reason
from queries.holds import HoldRecord


class HoldRequest(BaseModel):
    """Why, and the signer's password entered again (the hold is an e-signed record)."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason
    password: Password = Field(description="the signer's own password, entered again")


class LotHolds(BaseModel):
    """A lot's holds, oldest first, and the one it is under now (``null``: not on hold)."""

    lot: str
    active: HoldRecord | None
    holds: list[HoldRecord]
