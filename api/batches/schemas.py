"""A batch's release as the API takes it; the answer is the checklist of
queries/batch_release.py."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from api.documents.schemas import Password, Reason


class ReleaseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: Password = Field(description="the signer's own password, entered again")
    reason: Annotated[Reason | None, Field(description="why; required with override")] = None
    override: bool = Field(
        default=False,
        description="release over the open overridable findings, signing an override",
    )
