"""``GET /lots/{lot_id}/evidence``: a lot's evidence package as a zip.

An evidence package is never partial or redacted: a caller who may not see every site
the package reaches (the recall's lots and batches, and both trace directions) gets 403
naming the hidden sites, before documents and audit are read.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi import APIRouter, Response

from api.auth.schemas import Caller
from api.deps import Reader, StoreDep
from api.errors import ERROR_RESPONSES, Forbidden
from queries.evidence import collect_evidence, manifest_sha256_of, package

router = APIRouter(tags=["evidence"], responses=ERROR_RESPONSES)

MANIFEST_HEADER = "X-Evidence-Manifest-SHA256"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _refuse_hidden(caller: Caller, lot_id: str, sites: set[str]) -> None:
    hidden = sorted(s for s in sites if not caller.sees(s))
    if hidden:
        raise Forbidden(
            f"the evidence package of lot {lot_id!r} reaches site(s) {', '.join(hidden)} "
            "outside your sites; a package is never partial, so ask someone who sees every "
            "site it reaches (an auditor, for one)"
        )


def content_disposition(lot_id: str) -> str:
    """An attachment name safe in any header, with the exact id in ``filename*``."""
    plain = _UNSAFE.sub("_", lot_id).strip("._") or "lot"
    return (
        f'attachment; filename="evidence-{plain}.zip"; '
        f"filename*=UTF-8''{quote(f'evidence-{lot_id}.zip', safe='')}"
    )


# A plain `def`: a large package takes seconds, so it runs in the thread pool.
@router.get(
    "/lots/{lot_id}/evidence",
    response_class=Response,
    responses={
        200: {
            "content": {"application/zip": {}},
            "description": "the evidence package; its manifest's SHA-256 in "
            f"the {MANIFEST_HEADER} header",
        }
    },
)
def lot_evidence(lot_id: str, caller: Reader, store: StoreDep) -> Response:
    """The lot's evidence package (zip): recall, trace, documents, audit, report, manifest."""
    evidence = collect_evidence(
        store, lot_id, check_sites=lambda sites: _refuse_hidden(caller, lot_id, sites)
    )
    content = package(evidence, creator=caller.name)
    return Response(
        content,
        media_type="application/zip",
        headers={
            "Content-Disposition": content_disposition(lot_id),
            MANIFEST_HEADER: manifest_sha256_of(content),
        },
    )
