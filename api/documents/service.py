"""Documents, append-only versions and e-signatures, written as graph nodes.

Each write is one ``WriteBatch`` (one transaction) holding the nodes, the relationships
and the audit entries (who, what, old, new, why) together. Labels and relationship types
are the model's (DESIGN §2), so custody and the documents investigations read what this
writes: ``(Document)-[:HAS_VERSION]->(DocumentVersion {id: DOC@n})``,
``(Document)-[:CONCERNS]->(target)``, ``(Person)-[:SIGNED]->(Signature)-[:SIGNS]->(version)``.

- A version's ``content_sha256`` is computed here, SHA-256 over the RFC 8785 canonical
  JSON of its content, and the content is kept as that canonical text, so verification
  recomputes the same bytes.
- Versions are append-only: a new version is always number current + 1, and nothing here
  ever rewrites a version or a signature. Superseded signatures are a computed status.
- The document's state is computed from its signatures (queries/document_record.py); a
  signature is accepted only when its meaning is a valid transition from that state.
- Races are settled by the store, whatever the number of processes: every node written
  here is create-only (``ABSENT``), so of two requests taking version n + 1 one stores it
  and the other numbers again; a signature's id is derived from what it may happen once
  for (a state change from one state of one version; one signer's meaning on one
  version), so a second one is refused by the store (409), never stored twice.
- Each write may carry the request's Idempotency-Key reservation (api/idempotency.py),
  completed in the same transaction.
"""

from __future__ import annotations

import hashlib
from typing import Any

from api.auth.schemas import Caller
from api.auth.service import Authenticator
from api.auth.signing import confirm_signer
from api.documents.schemas import ConcernIn, DocumentCreate, DocumentSigned
from api.errors import ApiError, Conflict, Forbidden, NotFoundError, PayloadTooLarge
from api.idempotency import Once, Reservation, no_key
from api.investigations.redaction import check_site
from graph.canonical import NotCanonical, canonical_json, sha256_hex
from graph.model import DOCUMENT_TARGETS, Label, RelType, version_id
from graph.store import (
    ABSENT,
    ANY,
    AlreadyExists,
    AuditEntry,
    GraphStore,
    NodeRef,
    NodeWrite,
    Props,
    RelRef,
    RelWrite,
    WriteBatch,
    fingerprint,
    utc_now,
)
from queries.document_record import (
    NOT_BY_AUTHOR,
    ONLY_BY_AUTHOR,
    TRANSITIONS,
    DocumentFacts,
    DocumentRecord,
    document_facts,
    record_of,
    state_of,
)

MAX_CONTENT_BYTES = 1_000_000
SOURCE = "api"
_PROVENANCE: Props = {"source": SOURCE}
_NUMBERING_ATTEMPTS = 20  # a version number lost to a concurrent writer is taken again


class Unprocessable(ApiError):
    status = 422
    code = "invalid_request"


def _canonical(field: str, value: Any) -> str:
    """The value's RFC 8785 text; 422 when it has none, 413 when it is too large."""
    try:
        text = canonical_json(value)
    except NotCanonical as exc:
        raise Unprocessable(f"{field}: has no canonical JSON form ({exc})") from None
    if len(text) > MAX_CONTENT_BYTES:
        raise PayloadTooLarge(f"{field}: more than {MAX_CONTENT_BYTES} bytes as canonical JSON")
    return text.decode("utf-8")


def node(label: Label, key: str, props: Props, expected: str = ABSENT) -> NodeWrite:
    """A node written by the service: create-only unless ``expected`` says otherwise."""
    return NodeWrite(NodeRef(label, key), props, _PROVENANCE, fingerprint(props), expected)


def rel(rel_type: RelType, src: NodeRef, dst: NodeRef) -> RelWrite:
    return RelWrite(RelRef(rel_type, src, dst), {}, _PROVENANCE, fingerprint({}))


def signature_id(version_id: str, slot: str) -> str:
    """A signature's key from what it may happen once for, so the store refuses a second."""
    digest = hashlib.sha256(f"{version_id}\n{slot}".encode()).hexdigest()
    return f"SIG-{digest[:20].upper()}"


def _answer(reservation: Reservation | None, body: dict[str, Any]) -> Any:
    return None if reservation is None else reservation.answer(201, body)


def _summary(facts: DocumentFacts) -> dict[str, Any]:
    return {"current_version": facts.current(), "state": state_of(facts)}


class DocumentService:
    def __init__(self, store: GraphStore) -> None:
        self._store = store

    # -- reads ----------------------------------------------------------------------------
    def record(self, document_id: str) -> DocumentRecord:
        return record_of(document_facts(self._store, document_id))

    # -- writes ---------------------------------------------------------------------------
    def create(self, caller: Caller, body: DocumentCreate, once: Once = no_key) -> DocumentRecord:
        title, reason = body.title, body.reason
        content = _canonical("content", body.content)
        content_sha = sha256_hex(body.content)
        targets = self._targets(caller, body.concerns)
        doc = NodeRef(Label.DOCUMENT, body.id)
        exists = Conflict(f"document {body.id!r} exists already")
        reservation = once()
        if self._store.fetch_nodes(Label.DOCUMENT, [body.id]):
            raise exists
        # the store refuses the document when another request created it meanwhile
        now = utc_now()
        doc_props = {
            "kind": body.kind,
            "title": title,
            "created_by": caller.name,
            "created_at": now,
        }
        version = self._version_props(body.id, 1, content, content_sha, caller, now, reason)
        vid = version_id(body.id, 1)
        concerns = [{"target_kind": c.target_kind, "target_id": c.target_id} for c in targets]
        batch = WriteBatch(
            nodes=[
                node(Label.DOCUMENT, body.id, doc_props),
                node(Label.DOCUMENT_VERSION, vid, version),
            ],
            rels=[
                rel(RelType.HAS_VERSION, doc, NodeRef(Label.DOCUMENT_VERSION, vid)),
                *(
                    rel(
                        RelType.CONCERNS,
                        doc,
                        NodeRef(DOCUMENT_TARGETS[c.target_kind], c.target_id),
                    )
                    for c in targets
                ),
            ],
            audit=[
                _audit(
                    caller,
                    "document_created",
                    "Document",
                    body.id,
                    None,
                    {**doc_props, "concerns": concerns},
                    reason,
                ),
                _audit(
                    caller,
                    "document_version_added",
                    "DocumentVersion",
                    vid,
                    None,
                    version,
                    reason,
                ),
            ],
            answer=_answer(reservation, {"document_id": body.id}),
        )
        try:
            self._store.apply(batch)
        except AlreadyExists:
            raise exists from None
        return self.record(body.id)

    def add_version(
        self,
        caller: Caller,
        document_id: str,
        content_value: dict[str, Any],
        reason: str,
        once: Once = no_key,
    ) -> DocumentRecord:
        """The next version; its number is claimed by a create-only write of ``DOC@n``, so
        of concurrent writers each stores its own number, in the store's order."""
        content = _canonical("content", content_value)
        content_sha = sha256_hex(content_value)
        reservation = once()
        for _ in range(_NUMBERING_ATTEMPTS):
            facts = self._facts(document_id)
            self._check_scope(caller, facts)
            if facts.node.unresolved:
                raise Conflict(
                    f"document {document_id!r} is referenced but not ingested yet: "
                    "its versions come from its source first"
                )
            number = (facts.current() or 0) + 1
            vid = version_id(document_id, number)
            version = self._version_props(
                document_id, number, content, content_sha, caller, utc_now(), reason
            )
            batch = WriteBatch(
                nodes=[node(Label.DOCUMENT_VERSION, vid, version)],
                rels=[
                    rel(
                        RelType.HAS_VERSION,
                        NodeRef(Label.DOCUMENT, document_id),
                        NodeRef(Label.DOCUMENT_VERSION, vid),
                    )
                ],
                audit=[
                    _audit(
                        caller,
                        "document_version_added",
                        "DocumentVersion",
                        vid,
                        _summary(facts),
                        {**version, "state": "draft"},
                        reason,
                    )
                ],
                answer=_answer(reservation, {"document_id": document_id, "version": number}),
            )
            try:
                self._store.apply(batch)
            except AlreadyExists:
                continue  # another request took this number: read again and take the next
            return self.record(document_id)
        raise Conflict(
            f"document {document_id}: {_NUMBERING_ATTEMPTS} version numbers were taken by "
            "concurrent requests meanwhile; try again"
        )

    def sign(
        self,
        auth: Authenticator,
        caller: Caller,
        document_id: str,
        number: int,
        meaning: str,
        password: str,
        once: Once = no_key,
    ) -> DocumentSigned:
        facts = self._facts(document_id)
        if facts.version_of(number) is None:
            raise NotFoundError(f"document {document_id!r} has no version {number}")
        self._check_scope(caller, facts)
        confirm_signer(auth, self._store, caller, password)
        return self.sign_confirmed(caller, document_id, number, meaning, once())

    def sign_confirmed(
        self,
        caller: Caller,
        document_id: str,
        number: int,
        meaning: str,
        reservation: Reservation | None,
        extra: Props | None = None,
        why: str | None = None,
        answer: Props | None = None,
    ) -> DocumentSigned:
        """The signature of a signer whose password was just confirmed; ``extra`` adds to
        its content (a release override's reason), ``why`` is its audit reason and
        ``answer`` adds to the answer a retry with the same Idempotency-Key gets."""
        # the signature's derived key settles a race with another request
        facts = self._facts(document_id)  # again: another request may have signed since
        vid, version = facts.version_of(number) or (None, None)
        if vid is None or version is None:  # pragma: no cover - versions are never deleted
            raise NotFoundError(f"document {document_id!r} has no version {number}")
        current = facts.current()
        if number != current:
            raise Conflict(
                f"version {number} of {document_id} is not its latest (version {current}): "
                "only the latest version can be signed"
            )
        author = version.props.get("created_by")
        if meaning in NOT_BY_AUTHOR and author == caller.name:
            raise Forbidden(
                f"{caller.name} authored version {number} of {document_id} and may not "
                f"sign it {meaning}: another person must"
            )
        if meaning in ONLY_BY_AUTHOR and author != caller.name:
            raise Forbidden(
                f"only the author of version {number} of {document_id} ({author}) may "
                f"sign it {meaning}"
            )
        if self._signed_already(facts, vid, caller.name, meaning):
            raise Conflict(
                f"{caller.name} has signed version {number} of {document_id} {meaning} "
                "already: one signer, one meaning, one version"
            )
        state = state_of(facts)
        allowed, leads_to = TRANSITIONS[meaning]
        if state not in allowed:
            raise Conflict(
                f"document {document_id} is {state}: a {meaning} signature needs it "
                f"{' or '.join(allowed)}"
                + ("; add a new version to start again" if state == "rejected" else "")
            )
        content_sha = version.props.get("content_sha256")
        if not isinstance(content_sha, str):
            raise Conflict(f"version {number} of {document_id} has no content hash to sign")
        # a state change happens once from each state of a version; any other meaning
        # once per signer and version
        slot = f"from:{state}" if leads_to is not None else f"{caller.name}:{meaning}"
        sig_id = signature_id(vid, slot)
        props = {
            "document_id": document_id,
            "document_version": number,
            "signer_id": caller.name,
            "meaning": meaning,
            "signed_at": utc_now(),
            "record_sha256": content_sha,
            **(extra or {}),
        }
        person = NodeRef(Label.PERSON, caller.name)
        signature = NodeRef(Label.SIGNATURE, sig_id)
        nodes = [node(Label.SIGNATURE, sig_id, props)]
        if not self._store.fetch_nodes(Label.PERSON, [caller.name]):
            person_props = {"name": caller.name, "role": str(caller.role)}
            nodes.append(node(Label.PERSON, caller.name, person_props, ANY))
        after = leads_to or state
        batch = WriteBatch(
            nodes=nodes,
            rels=[
                rel(RelType.SIGNED, person, signature),
                rel(RelType.SIGNS, signature, NodeRef(Label.DOCUMENT_VERSION, vid)),
            ],
            audit=[
                _audit(
                    caller,
                    "signature_added",
                    "Signature",
                    sig_id,
                    {"state": state},
                    {**props, "state": after},
                    why or f"{meaning} signature of {vid}",
                )
            ],
            answer=_answer(
                reservation, {**(answer or {}), "document_id": document_id, "signature_id": sig_id}
            ),
        )
        try:
            self._store.apply(batch)
        except AlreadyExists:
            raise Conflict(
                f"version {number} of {document_id} was signed by another request "
                f"meanwhile (it is no longer {state}, or {caller.name} signed it {meaning}"
                " already); read it again"
            ) from None
        return self.signed(document_id, sig_id)

    def signed(self, document_id: str, sig_id: str) -> DocumentSigned:
        """The answer to a signature request: the signature and the document now."""
        record = self.record(document_id)
        signed = next(s for s in record.signatures if s.signature_id == sig_id)
        return DocumentSigned(signature=signed, document=record)

    # -- helpers --------------------------------------------------------------------------
    def _facts(self, document_id: str) -> DocumentFacts:
        return document_facts(self._store, document_id)

    def _check_scope(self, caller: Caller, facts: DocumentFacts) -> None:
        """A document is shared reference data to read; to write or sign one, the caller must
        see everything it concerns (403 naming the site of the first it may not)."""
        if caller.all_sites:
            return
        by_label: dict[str, list[str]] = {}
        for label, target in facts.concerns:
            by_label.setdefault(label, []).append(target)
        for label, ids in sorted(by_label.items()):
            found = self._store.fetch_nodes(Label(label), ids)
            for target in ids:
                site = found[target].props.get("site") if target in found else None
                check_site(caller, label, target, site)

    @staticmethod
    def _signed_already(facts: DocumentFacts, vid: str, signer: str, meaning: str) -> bool:
        for sig, version in facts.signs:
            if version != vid:
                continue
            props = facts.signatures[sig].props
            people = facts.signers.get(sig, [])
            if props.get("meaning") == meaning and (
                signer in people or props.get("signer_id") == signer
            ):
                return True
        return False

    @staticmethod
    def _version_props(
        document_id: str,
        number: int,
        content: str,
        content_sha: str,
        caller: Caller,
        now: str,
        reason: str,
    ) -> Props:
        return {
            "document_id": document_id,
            "version": number,
            "content": content,
            "content_sha256": content_sha,
            "created_by": caller.name,
            "created_at": now,
            "reason": reason,
        }

    def _targets(self, caller: Caller, concerns: list[ConcernIn]) -> list[ConcernIn]:
        """The targets, each once; 404 for one that does not exist, 403 outside the sites."""
        unique = {(c.target_kind, c.target_id): c for c in concerns}
        by_label: dict[Label, list[str]] = {}
        for kind, target in unique:
            by_label.setdefault(DOCUMENT_TARGETS[kind], []).append(target)
        for label, ids in by_label.items():
            found = self._store.fetch_nodes(label, ids)
            for target in ids:
                if target not in found:
                    raise NotFoundError(f"concerns: no {label.lower()} {target!r}")
                check_site(caller, str(label), target, found[target].props.get("site"))
        return [unique[k] for k in sorted(unique)]


def _audit(
    caller: Caller,
    action: str,
    entity: str,
    key: str,
    old: Props | None,
    new: Props | None,
    reason: str,
) -> AuditEntry:
    return AuditEntry(
        actor=caller.name,
        action=action,
        entity=entity,
        key=key,
        old=old,
        new=new,
        reason=reason,
        source=SOURCE,
    )
