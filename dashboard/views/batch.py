"""A batch's release: its facts, its batch record, the checklist of findings blocking its
release, the release signature (and override) once released, and the release form."""

from __future__ import annotations

import uuid
from typing import Any

import streamlit as st

from dashboard import links, params, session, tables
from dashboard.client import ApiClient, ApiFailure

# One Idempotency-Key per intended release, kept until the API answers it: a retry after a
# lost connection sends the same key, so the API signs once and gives its first answer.
_KEYS = "lg_release_keys"
_DONE = "lg_release_done"
_STILL_RUNNING = "Idempotency-Key: the first request"


def _release_key(batch: str, override: bool, reason: str) -> str:
    keys: dict[str, dict[str, Any]] = st.session_state.setdefault(_KEYS, {})
    kept = keys.get(batch)
    request = [override, reason]
    if kept is None or kept["request"] != request:  # another release is intended now
        kept = {"key": str(uuid.uuid4()), "request": request}
        keys[batch] = kept
    return str(kept["key"])


def _answered(batch: str) -> None:
    """The API answered the intended release (signed, or refused): the next is another."""
    st.session_state.setdefault(_KEYS, {}).pop(batch, None)


def _readable(state: str) -> str:
    return state.replace("_", " ")


st.title("Batch release")
batch = params.ask_for("id", "Batch id", params.one("id"), button="Show batch")
if not batch:
    st.info("Enter a batch id to see what blocks its release, and to release it.")
    st.stop()

asked = session.ask(f"Reading the release of {batch}...", ApiClient.release_checklist, batch)
if asked is None:
    st.stop()
checklist: dict[str, Any] = asked or {}

done = st.session_state.pop(_DONE, None)
if done:
    st.success(done)

state = checklist["release_state"]
findings: list[dict[str, Any]] = checklist["findings"]
cols = st.columns(4)
cols[0].metric("Status", checklist.get("status") or "-")
cols[1].metric("Product", checklist.get("product_material_id") or "-")
cols[2].metric("Site", checklist.get("site") or "-")
cols[3].metric("Findings", len(findings))
st.markdown(
    f"Release state: **{_readable(state)}** · completed at {checklist.get('completed_at') or '-'}"
)
st.markdown(f"[Chain of custody of batch {batch}]({links.custody(batch)})")

st.subheader("Batch record")
record = checklist.get("batch_record")
if record is None:
    st.warning(f"No batch record concerns batch {batch}: there is nothing to sign released.")
else:
    st.markdown(
        f"{links.markdown('Document', record['id'])}: version {record['current_version']}, "
        f"**{_readable(record['state'])}**, written by {record.get('version_author') or '-'}  \n"
        f"sha256 `{record.get('content_sha256') or '-'}`"
    )

release = checklist.get("release")
if release is not None:
    st.subheader("Release signature")
    st.success(
        f"Released by **{release.get('signer_id') or '-'}** at {release.get('signed_at') or '-'}, "
        f"signing version {release['version']} of {release['document_id']} "
        f"(signature {release['signature_id']})."
    )
    if release["override"]:
        overridden = release.get("overridden_findings") or []
        st.warning(
            f"**Released by override.** Reason: {release.get('override_reason')}  \n"
            f"Signed by {release.get('signer_id') or '-'} at {release.get('signed_at') or '-'}, "
            f"over {len(overridden)} open finding(s): {'; '.join(overridden) or '-'}"
        )

st.subheader("Release checklist")
if state != "awaiting_release":
    st.info(
        f"Batch {batch} is {_readable(state)}: only a batch awaiting release (executed or in "
        "review) has a checklist."
    )
elif not findings:
    st.success("Nothing blocks the release: every check on this batch has passed.")
else:
    lifted = sum(1 for f in findings if f["overridable"])
    st.error(
        f"{len(findings)} open finding(s) block the release; an override may lift {lifted} of them."
    )
    for finding in findings:
        may = "an override may lift it" if finding["overridable"] else "**no override lifts it**"
        st.markdown(
            f"- **{_readable(finding['kind'])}** {finding['label']} "
            f"{links.markdown(finding['label'], finding['id'])}: {finding['detail']} ({may})"
        )
    tables.show(
        tables.frame(
            [{**f, "link": links.of_label(f["label"], f["id"])} for f in findings],
            ["kind", "id", "label", "detail", "overridable", "link"],
        ),
        f"release-findings-{batch}",
        key="findings",
        empty="",
        column_config={"link": st.column_config.LinkColumn("link", display_text="open")},
    )


def _refusal(exc: ApiFailure) -> None:
    """The API's refusal as it gave it; a 409 lists the findings one a line."""
    if exc.status == 409 and ": " in exc.detail:
        head, listed = exc.detail.split(": ", 1)
        lines = "\n".join(f"- {item}" for item in listed.split("; "))
        st.error(f"Release refused (409 {exc.code}): {head}:\n\n{lines}")
    elif exc.status is None:
        st.error(
            f"No answer from the API ({exc.detail}). Sign again to retry: the retry carries "
            "the same request key, so the batch is released once at most."
        )
    else:
        st.error(f"Release refused ({exc.status} {exc.code}): {exc.detail}")


def _release_form(record: dict[str, Any]) -> None:
    name = session.username() or "?"
    version, document = record["current_version"], record["id"]
    statement = (
        f"I, {name}, release batch {batch} by signing version {version} of {document} "
        f"— sha256 {record.get('content_sha256')}"
    )
    st.subheader("Release")
    if session.may_not("release", "Releasing a batch"):
        return
    st.caption(
        "Only a qa person may release a batch, and never the author of the batch record's "
        "version: the API refuses anyone else (403) and nothing is signed."
    )
    with st.form("release", clear_on_submit=True):  # each signature typed afresh
        st.markdown(f"> {statement}")
        override = False
        if checklist["can_override"]:
            override = st.checkbox(
                f"Override the {len(findings)} open finding(s) listed above, signing the "
                "reason with the release"
            )
        reason = st.text_area(
            "Reason (required with an override)"
            if checklist["can_override"]
            else "Reason (optional)",
            max_chars=2000,
        )
        password = st.text_input(
            "Your password, entered again", type="password", autocomplete="current-password"
        )
        confirmed = st.checkbox("I confirm the statement above: this is my signature")
        submitted = st.form_submit_button("Sign and release", type="primary")
    if not submitted:
        return
    reason = reason.strip()
    if not confirmed:
        st.error("Tick the confirmation to sign: nothing was signed.")
        return
    if not password:
        st.error("Enter your password again to sign: nothing was signed.")
        return
    if override and not reason:
        st.error("reason: an override needs the reason it is signed for; nothing was signed.")
        return
    key = _release_key(batch, override, reason)
    try:
        answer = session.act(
            f"Releasing batch {batch}...",
            ApiClient.release_batch,
            batch,
            password,
            key,
            reason or None,
            override,
        )
    except ApiFailure as exc:
        if exc.status is not None and not exc.detail.startswith(_STILL_RUNNING):
            _answered(batch)
        session.forget_answers()
        _refusal(exc)
        return
    _answered(batch)
    signed = answer.get("release") or {}
    how = "by override" if signed.get("override") else ""
    st.session_state[_DONE] = (
        f"Batch {batch} released {how} (signature {signed.get('signature_id')})."
    ).replace("  ", " ")
    st.rerun()


if state == "awaiting_release":
    if record is None or record.get("current_version") is None:
        st.info("There is no batch record version to sign: the batch cannot be released.")
    elif record.get("version_author") == session.username():
        st.warning(
            f"You wrote version {record['current_version']} of {record['id']}: another qa "
            "person must release it (the API refuses the author's own release, 403)."
        )
    else:
        _release_form(record)
