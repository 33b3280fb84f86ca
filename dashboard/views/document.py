"""One document: its state, versions, signatures with their signers, what it concerns, the
diff of two versions, its verification; and signing it or adding a version, on screen
(dashboard/signing.py: the statement, and one Idempotency-Key per intended write)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pandas as pd
import streamlit as st

from dashboard import params, session, tables
from dashboard.client import ApiClient, ApiFailure
from dashboard.signing import readable, show_refusal, statement, write

_STATUS_COLOURS = {"hash_mismatch": "#ffd6d6", "superseded": "#fff1c2"}  # as on custody
_LINKED = {"lot": "/lot?id=", "batch": "/batch?id=", "supplier": "/supplier?id="}
_NOTICE, _VERIFIED = "lg_document_notice", "lg_document_verified"


st.title("Document")
document = params.ask_for("id", "Document id", params.one("id"), button="Show document")
if not document:
    st.info("Enter a document id (DOC-...) to see its versions, signatures and state.")
    st.stop()

record = session.ask(f"Reading {document}...", ApiClient.document, document)
if record is None:
    st.stop()
notice = st.session_state.pop(_NOTICE, None)
if notice:
    st.success(notice)
show_refusal()

st.subheader(f"{(record.get('kind') or 'document').replace('_', ' ')} {record['id']}")
st.markdown(f"**{record.get('title') or '(no title)'}**")
if record.get("unresolved"):
    st.warning(f"Document {document} is referenced but its own record has not arrived.")
current = record.get("current_version")
versions: list[dict[str, Any]] = record["versions"]
signatures: list[dict[str, Any]] = record["signatures"]
latest = next((v for v in versions if v["version"] == current), None)
cols = st.columns(4)
cols[0].metric("State", record["state"])
cols[1].metric("Current version", current if current is not None else "-")
cols[2].metric("Versions", len(versions))
cols[3].metric("Signatures", len(signatures))

st.subheader("Concerns")
if not record["concerns"]:
    st.caption("This document names no lot, batch, supplier or other record.")
links = []
for concern in record["concerns"]:
    kind, target = concern["target_kind"], concern["target_id"]
    url = _LINKED.get(kind, "/search?q=") + quote(target, safe="")
    links.append(f"- {kind} [{target}]({url})")
if links:
    st.markdown("\n".join(links))

st.subheader("Versions")
version_rows = [
    {
        **v,
        "created_at": readable(v.get("created_at")),
        "content": "stored" if v["content_stored"] else "hash only (from ingest)",
    }
    for v in versions
]
tables.show(
    tables.frame(
        version_rows,
        [  # the long hash last, so that a narrow screen cuts it, not the short columns
            "version",
            "created_by",
            "created_at",
            "reason",
            "content",
            "source_status",
            "content_sha256",
        ],
    ),
    "document-versions",
    key="versions",
    empty="This document has no versions.",
)

st.subheader("Signatures")
mismatched = [s["signature_id"] for s in signatures if s["status"] == "hash_mismatch"]
superseded = [s["signature_id"] for s in signatures if s["status"] == "superseded"]
if mismatched:
    st.error(
        f"{len(mismatched)} signature(s) do not match the record they sign: {', '.join(mismatched)}"
    )
if superseded:
    st.warning(
        f"{len(superseded)} signature(s) sign a version that a later one replaced: "
        + ", ".join(superseded)
    )
signature_rows = [
    {
        **s,
        "signer": s.get("signer_name") or s.get("signer_id") or "unknown",
        "role": s.get("signer_role") or "unknown",
        "signed_at": readable(s.get("signed_at")),
    }
    for s in signatures
]


def _by_status(row: pd.Series) -> list[str]:
    colour = _STATUS_COLOURS.get(row["status"])
    return [f"background-color: {colour}" if colour else "" for _ in row]


tables.show(
    tables.frame(
        signature_rows,
        [
            "signature_id",
            "status",
            "meaning",
            "signer",
            "role",
            "signed_at",
            "version",
            "signer_id",
        ],
    ),
    "document-signatures",
    key="signatures",
    empty="Nobody has signed this document.",
    styled=lambda t: t.style.apply(_by_status, axis=1),
)

st.subheader("What changed between two versions")
stored = [v["version"] for v in versions if v["content_stored"]]
if len(stored) < 2:
    st.caption(
        "A diff needs two versions with stored content (versions from ingest keep only their hash)."
    )
else:
    left, right = st.columns(2)
    older = left.selectbox("From version", stored, index=len(stored) - 2, key="diff-from")
    newer = right.selectbox("To version", stored, index=len(stored) - 1, key="diff-to")
    diff = session.ask(
        f"Comparing versions {older} and {newer}...",
        ApiClient.document_diff,
        document,
        int(older),
        int(newer),
    )
    if diff is not None:
        change_rows = [
            {
                "path": c["path"],
                "change": c["change"],
                "old": "" if c["change"] == "added" else json.dumps(c["old"], ensure_ascii=False),
                "new": "" if c["change"] == "removed" else json.dumps(c["new"], ensure_ascii=False),
            }
            for c in diff["changes"]
        ]
        st.caption(
            f"{len(change_rows)} field(s) changed from version {older} "
            f"(sha256 {diff['from_sha256']}) to version {newer} (sha256 {diff['to_sha256']})."
        )
        tables.show(
            pd.DataFrame(change_rows, columns=["path", "change", "old", "new"]),
            "version-diff",
            key="diff",
            empty=f"Versions {older} and {newer} have the same content.",
        )

st.subheader("Verification")
if st.button("Verify", key="verify"):
    try:
        with st.spinner(f"Verifying {document}..."):
            st.session_state.setdefault(_VERIFIED, {})[document] = session.client().verify_document(
                document
            )
    except ApiFailure as exc:
        st.error(f"The API could not verify ({exc.code}): {exc.detail}")
checked = st.session_state.get(_VERIFIED, {}).get(document)
if checked is None:
    st.caption(
        "Verify recomputes each version's hash from its content and checks each signature's."
    )
else:
    if checked["ok"]:
        st.success(f"Verified: every check of {document} holds.")
    else:
        st.error(f"Verification failed: a check of {document} does not hold.")
    outcome = {True: "ok", False: "FAILED", None: "not checked"}
    tables.show(
        pd.DataFrame(
            [
                {
                    "check": f"version {v['version']}",
                    "result": outcome[v["ok"]],
                    "detail": v["detail"],
                }
                for v in checked["versions"]
            ]
            + [
                {
                    "check": f"signature {s['signature_id']} ({s['meaning']})",
                    "result": outcome[s["ok"]],
                    "detail": s["detail"],
                }
                for s in checked["signatures"]
            ],
            columns=["check", "result", "detail"],
        ),
        "verification",
        key="verification",
        empty="Nothing to check.",
    )

st.subheader(f"Sign version {current}" if current is not None else "Sign")
allowed: list[str] = record.get("allowed_meanings") or []
name = session.username() or "?"
if latest is None or not allowed:
    st.info(f"No signature can be given: the document is {record['state']}.")
elif not session.may_not("sign", "Signing"):
    st.caption(
        "Signing is for qa. Only the latest version is signed; approved and released are "
        "signed by someone other than the version's author, authored only by its author."
    )
    meaning = st.radio("Meaning", allowed, horizontal=True, key=f"meaning-{document}-{current}")
    declared = statement(name, meaning, latest["version"], document, latest["content_sha256"])
    st.info(declared)
    with st.form(f"sign-{document}", clear_on_submit=True):
        password = st.text_input(
            "Your password, entered again", type="password", autocomplete="current-password"
        )
        confirmed = st.checkbox("I confirm")
        signed = st.form_submit_button("Sign", type="primary")
    if signed:
        if not confirmed:
            st.error("Tick “I confirm” to sign: nothing was signed.")
        elif not password:
            st.error("Enter your password again to sign: nothing was signed.")
        else:
            intent: tuple[Any, ...] = ("sign", document, latest["version"], meaning)
            answer = write(
                f"Signing {document}...",
                intent,
                ApiClient.sign_document,
                document,
                latest["version"],
                meaning,
                password,
            )
            if answer is not None:
                made = answer["signature"]
                st.session_state[_NOTICE] = (
                    f"Signed: {declared} ({made['signature_id']}, "
                    f"{readable(made['signed_at'])}). The document is now "
                    f"{answer['document']['state']}."
                )
                st.rerun()

st.subheader("Add a version")
if record.get("unresolved"):
    st.caption("A referenced document gets its versions from its source first.")
elif not session.may_not("write_documents", "Adding a version"):
    st.caption(
        "For investigators and qa. A new version puts the document back to draft; the "
        "signatures on earlier versions stay, marked superseded."
    )
    prefill = latest.get("content") if latest else None
    with st.form(f"version-{document}"):
        text = st.text_area(
            "Content (a JSON object)",
            value=json.dumps(prefill if prefill is not None else {}, indent=2, ensure_ascii=False),
            height=220,
            key=f"content-{document}-{current}",
        )
        reason = st.text_input(
            "Reason for the change (required)", key=f"reason-{document}-{current}"
        )
        added = st.form_submit_button("Add version")
    if added:
        problem: str | None = None
        try:
            content = json.loads(text)
        except ValueError as exc:
            content, problem = None, f"Content: not JSON ({exc}). Nothing was added."
        if problem is None and not isinstance(content, dict):
            problem = "Content: must be a JSON object. Nothing was added."
        if problem is None and not reason.strip():
            problem = "Reason: required. Nothing was added."
        if problem is not None or not isinstance(content, dict):
            st.error(problem)
        else:
            canonical = json.dumps(content, sort_keys=True, ensure_ascii=False)
            intent = ("version", document, current, canonical, reason.strip())
            answer = write(
                f"Adding a version to {document}...",
                intent,
                ApiClient.add_document_version,
                document,
                content,
                reason.strip(),
            )
            if answer is not None:
                st.session_state[_NOTICE] = (
                    f"Version {answer['current_version']} of {document} added "
                    f"(reason: {reason.strip()}). The document is now {answer['state']}."
                )
                st.rerun()
