"""One document's whole record: metadata, state, every version, every signature with its
status, and the verification of each version's hash and each signature's binding.

Decisions:

- A version's ``content`` (versions written over the API) is kept as the RFC 8785
  canonical JSON text of the content; ``content_sha256`` is SHA-256 over those bytes.
  Versions that came from ingest (documents.csv) have no content, only the hash their
  source gave: verification says "no content stored" for them (``ok: null``) instead of
  failing.
- A signature's status is computed, as custody computes it: ``hash_mismatch`` (its
  ``record_sha256`` is missing or differs from its version's ``content_sha256``) before
  ``superseded`` (the document has a later version) before ``valid``. Nothing is ever
  deleted: superseded signatures stay in the answer.
- The document's state is computed from signatures, never stored, so no ingest can
  overwrite it: the state named by the last (by ``signed_at``, then id) valid
  state-changing signature on the current version (reviewed: in_review, approved,
  released, rejected), ``draft`` when there is none. The API only accepts signatures that
  follow the state machine (``TRANSITIONS``), so for documents signed over the API this is
  the machine's state; for ingested signatures it is what the source recorded last.
- Both stores fetch the same raw facts (the version, signature, signer and target ids);
  one function builds the answer from them and the nodes' content.
- A signer is named as a person reads it: ``signer_name`` and ``signer_role`` from the
  Person node whose id is the signer id (people.csv, or the one the API writes when an
  account signs), else from the API account of that name (its name and role), else null.
- ``allowed_meanings`` are the meanings whose transition the current state allows
  (``TRANSITIONS``), for everyone alike: the author rules (``NOT_BY_AUTHOR``,
  ``ONLY_BY_AUTHOR``) depend on the caller and are the API's to enforce (403).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from graph.canonical import NotCanonical, sha256_hex
from graph.model import DOCUMENT_TARGETS, Label, RelType
from graph.store import GraphStore, Props, StoredNode
from queries.custody import SignatureStatus, signature_status
from queries.errors import NotFound
from queries.snapshot import one_snapshot

DocumentState = Literal["draft", "in_review", "approved", "released", "rejected"]

# meaning -> (the states it may be signed in, the state it leads to; None: unchanged)
TRANSITIONS: dict[str, tuple[tuple[DocumentState, ...], DocumentState | None]] = {
    "authored": (("draft",), None),
    "reviewed": (("draft",), "in_review"),
    "approved": (("in_review",), "approved"),
    "released": (("approved",), "released"),
    "rejected": (("draft", "in_review", "approved"), "rejected"),
    "verified": (("draft", "in_review", "approved", "released"), None),
}
# Meanings the author of a version may not sign on it (DESIGN §6: no self-approval).
NOT_BY_AUTHOR = ("approved", "released")
# Meanings only the author of a version may sign on it.
ONLY_BY_AUTHOR = ("authored",)

_TARGET_KINDS = {str(label): kind for kind, label in DOCUMENT_TARGETS.items()}


class Concern(BaseModel):
    target_kind: str
    target_id: str


class VersionOut(BaseModel):
    version: int
    id: str
    content_sha256: str | None
    created_by: str | None
    created_at: str | None
    reason: str | None
    source_status: str | None  # the status an ingested version's source gave it
    content_stored: bool
    content: Any = None  # the content (a JSON object) of a version written over the API
    unresolved: bool


class SignatureOut(BaseModel):
    signature_id: str
    version: int
    signer_id: str | None
    meaning: str | None
    signed_at: str | None
    record_sha256: str | None
    status: SignatureStatus
    signer_name: str | None = None
    signer_role: str | None = None
    # a release signed over open findings (queries/batch_release.py): why, and which
    override_reason: str | None = None
    overridden_findings: list[str] = []


class DocumentRecord(BaseModel):
    id: str
    kind: str | None
    title: str | None
    unresolved: bool
    created_by: str | None
    created_at: str | None
    state: DocumentState
    current_version: int | None
    concerns: list[Concern]
    versions: list[VersionOut]
    signatures: list[SignatureOut]
    allowed_meanings: list[str] = []  # meanings the current state allows (TRANSITIONS)


class VersionCheck(BaseModel):
    version: int
    id: str
    content_sha256: str | None
    recomputed_sha256: str | None
    ok: bool | None  # None: nothing to recompute (no content stored)
    detail: str


class SignatureCheck(BaseModel):
    signature_id: str
    version: int
    meaning: str | None
    signer_id: str | None
    record_sha256: str | None
    version_sha256: str | None
    ok: bool
    detail: str


class DocumentVerification(BaseModel):
    document: str
    ok: bool  # no check failed ("no content stored" is not a failure)
    versions: list[VersionCheck]
    signatures: list[SignatureCheck]


# -- the raw facts ------------------------------------------------------------------------
@dataclass
class DocumentFacts:
    document_id: str
    node: StoredNode
    versions: dict[str, StoredNode] = field(default_factory=dict)  # version id -> node
    signs: list[tuple[str, str]] = field(default_factory=list)  # signature, version
    signatures: dict[str, StoredNode] = field(default_factory=dict)
    signers: dict[str, list[str]] = field(default_factory=dict)  # signature -> people
    concerns: list[tuple[str, str]] = field(default_factory=list)  # target label, target id
    # signer id -> (name, role), from its Person node or else its API account
    signer_names: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)

    def number(self, version_id: str) -> int:
        props = self.versions[version_id].props
        if isinstance(props.get("version"), int):
            return int(props["version"])
        return int(version_id.rpartition("@")[2])

    def current(self) -> int | None:
        return max((self.number(v) for v in self.versions), default=None)

    def version_of(self, number: int) -> tuple[str, StoredNode] | None:
        for vid, node in self.versions.items():
            if self.number(vid) == number:
                return vid, node
        return None


def document_facts(store: GraphStore, document_id: str) -> DocumentFacts:
    """The facts of one document, its signers' names included."""
    facts = documents_facts(store, [document_id]).get(document_id)
    if facts is None:
        raise NotFound(str(Label.DOCUMENT), document_id)
    facts.signer_names = _signer_names(store, facts)
    return facts


def documents_facts(store: GraphStore, document_ids: Iterable[str]) -> dict[str, DocumentFacts]:
    """The facts of each existing document among ``document_ids``."""
    nodes = store.fetch_nodes(Label.DOCUMENT, sorted(set(document_ids)))
    ids = sorted(nodes)
    facts = {i: DocumentFacts(i, nodes[i]) for i in ids}
    has_version = store.linked(Label.DOCUMENT, ids, RelType.HAS_VERSION, True)
    version_ids = sorted({v for _, v, _ in has_version})
    versions = store.fetch_nodes(Label.DOCUMENT_VERSION, version_ids)
    owner: dict[str, str] = {}
    for doc, vid, _ in has_version:
        if vid in versions:
            facts[doc].versions[vid] = versions[vid]
            owner[vid] = doc
    signs = store.linked(Label.DOCUMENT_VERSION, sorted(owner), RelType.SIGNS, False)
    signatures = store.fetch_nodes(Label.SIGNATURE, sorted({s for s, _, _ in signs}))
    for sig, vid, _ in signs:
        if sig in signatures:
            doc_facts = facts[owner[vid]]
            doc_facts.signs.append((sig, vid))
            doc_facts.signatures[sig] = signatures[sig]
    signed = store.linked(Label.SIGNATURE, sorted(signatures), RelType.SIGNED, False)
    by_signature: dict[str, list[str]] = {}
    for person, sig, _ in signed:
        by_signature.setdefault(sig, []).append(person)
    for doc_facts in facts.values():
        doc_facts.signs.sort()
        for sig, _ in doc_facts.signs:
            if sig in by_signature:
                doc_facts.signers[sig] = sorted(by_signature[sig])
    for doc, target, label in store.linked(Label.DOCUMENT, ids, RelType.CONCERNS, True):
        facts[doc].concerns.append((label, target))
    for doc_facts in facts.values():
        doc_facts.concerns.sort()
    return facts


def _signer_id(facts: DocumentFacts, signature: str) -> str | None:
    people = facts.signers.get(signature, [])
    signer = people[0] if people else facts.signatures[signature].props.get("signer_id")
    return signer if isinstance(signer, str) else None


def _signer_names(
    store: GraphStore, facts: DocumentFacts
) -> dict[str, tuple[str | None, str | None]]:
    """Each signer's name and role: its Person node's, else its API account's."""
    ids = sorted({i for s, _ in facts.signs if (i := _signer_id(facts, s)) is not None})
    people = store.fetch_nodes(Label.PERSON, ids)
    names: dict[str, tuple[str | None, str | None]] = {}
    for signer in ids:
        props = people[signer].props if signer in people else {}
        name, role = props.get("name"), props.get("role")
        if name is None or role is None:
            account = store.get_account(signer)
            if account is not None:
                name, role = name or account.name, role or account.role
        names[signer] = (
            name if isinstance(name, str) else None,
            role if isinstance(role, str) else None,
        )
    return names


# -- the one assembly ---------------------------------------------------------------------
def _signature_status(facts: DocumentFacts, signature: str, version: str) -> SignatureStatus:
    return signature_status(
        facts.signatures[signature].props.get("record_sha256"),
        facts.versions[version].props.get("content_sha256"),
        facts.number(version),
        facts.current(),
    )


def _signatures(facts: DocumentFacts) -> list[SignatureOut]:
    out = []
    for signature, version in facts.signs:
        props = facts.signatures[signature].props
        signer = _signer_id(facts, signature)
        name, role = facts.signer_names.get(signer, (None, None)) if signer else (None, None)
        out.append(
            SignatureOut(
                signature_id=signature,
                version=facts.number(version),
                signer_id=signer,
                meaning=props.get("meaning"),
                signed_at=props.get("signed_at"),
                record_sha256=props.get("record_sha256"),
                status=_signature_status(facts, signature, version),
                signer_name=name,
                signer_role=role,
                override_reason=_text(props.get("override_reason")),
                overridden_findings=overridden_findings(props.get("overridden_findings")),
            )
        )
    return sorted(out, key=lambda s: (s.signed_at is None, s.signed_at or "", s.signature_id))


OVERRIDE_SEPARATOR = "; "


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def overridden_findings(value: object) -> list[str]:
    """A release override's findings, stored as ``kind id`` texts joined by ``; ``."""
    if not isinstance(value, str):
        return []
    return [part.strip() for part in value.split(OVERRIDE_SEPARATOR.strip()) if part.strip()]


def state_of(facts: DocumentFacts, signatures: list[SignatureOut] | None = None) -> DocumentState:
    current = facts.current()
    state: DocumentState = "draft"
    for s in signatures if signatures is not None else _signatures(facts):
        if s.version != current or s.status != "valid" or s.meaning not in TRANSITIONS:
            continue
        leads_to = TRANSITIONS[s.meaning][1]
        if leads_to is not None:
            state = leads_to
    return state


def allowed_meanings(state: DocumentState, current_version: int | None) -> list[str]:
    """The meanings a signature on the latest version may have in ``state``."""
    if current_version is None:
        return []
    return [meaning for meaning, (states, _) in TRANSITIONS.items() if state in states]


def _content(props: Props) -> Any:
    text = props.get("content")
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


@one_snapshot
def document_record(store: GraphStore, document_id: str) -> DocumentRecord:
    return record_of(document_facts(store, document_id))


def record_of(facts: DocumentFacts) -> DocumentRecord:
    props = facts.node.props
    signatures = _signatures(facts)
    state = state_of(facts, signatures)
    versions = []
    for vid, node in facts.versions.items():
        p = node.props
        versions.append(
            VersionOut(
                version=facts.number(vid),
                id=vid,
                content_sha256=p.get("content_sha256"),
                created_by=p.get("created_by"),
                created_at=p.get("created_at"),
                reason=p.get("reason"),
                source_status=p.get("status"),
                content_stored=isinstance(p.get("content"), str),
                content=_content(p),
                unresolved=node.unresolved,
            )
        )
    return DocumentRecord(
        id=facts.document_id,
        kind=props.get("kind"),
        title=props.get("title"),
        unresolved=facts.node.unresolved,
        created_by=props.get("created_by"),
        created_at=props.get("created_at"),
        state=state,
        current_version=facts.current(),
        concerns=[
            Concern(target_kind=_TARGET_KINDS.get(label, label.lower()), target_id=t)
            for label, t in facts.concerns
        ],
        versions=sorted(versions, key=lambda v: v.version),
        signatures=signatures,
        allowed_meanings=allowed_meanings(state, facts.current()),
    )


# -- verification -------------------------------------------------------------------------
def _check_version(facts: DocumentFacts, vid: str) -> VersionCheck:
    props = facts.versions[vid].props
    stored = props.get("content_sha256")
    text = props.get("content")

    def check(recomputed: str | None, ok: bool | None, detail: str) -> VersionCheck:
        return VersionCheck(
            version=facts.number(vid),
            id=vid,
            content_sha256=stored,
            recomputed_sha256=recomputed,
            ok=ok,
            detail=detail,
        )

    if text is None:
        return check(None, None, "no content stored: the version came from ingest")
    try:
        recomputed = sha256_hex(json.loads(text)) if isinstance(text, str) else None
    except (ValueError, NotCanonical):
        recomputed = None
    if recomputed is None:
        return check(None, False, "the stored content is not a JSON value: it was altered")
    if recomputed != stored:
        return check(
            recomputed,
            False,
            "the stored content does not match the version's content_sha256: it was altered",
        )
    return check(recomputed, True, "content matches its hash")


@one_snapshot
def verify(store: GraphStore, document_id: str) -> DocumentVerification:
    """Recompute each version's hash from its stored content, and check each signature's."""
    facts = document_facts(store, document_id)
    versions = sorted(
        (_check_version(facts, vid) for vid in facts.versions), key=lambda v: v.version
    )
    recomputed = {v.id: v for v in versions}
    signatures = []
    for sig in _signatures(facts):
        version_id = next(v for s, v in facts.signs if s == sig.signature_id)
        version = recomputed[version_id]
        bound = sig.record_sha256 is not None and sig.record_sha256 == version.content_sha256
        if not bound:
            ok, detail = False, "the signature's record_sha256 is not its version's content_sha256"
        elif version.ok is False:
            ok, detail = False, "the signed version's stored content no longer matches its hash"
        elif version.ok is None:
            ok, detail = True, "bound to the version's hash (no content stored to recompute)"
        else:
            ok, detail = True, "bound to the version's hash, recomputed from its content"
        signatures.append(
            SignatureCheck(
                signature_id=sig.signature_id,
                version=sig.version,
                meaning=sig.meaning,
                signer_id=sig.signer_id,
                record_sha256=sig.record_sha256,
                version_sha256=version.content_sha256,
                ok=ok,
                detail=detail,
            )
        )
    return DocumentVerification(
        document=document_id,
        ok=all(v.ok is not False for v in versions) and all(s.ok for s in signatures),
        versions=versions,
        signatures=signatures,
    )
