"""The human-readable ``report.html`` of an evidence package (``queries/evidence.py``).

One self-contained page: inline CSS, no script, no external asset; every value from the
graph goes through ``html.escape``. A shortfall in the mass balance, a signature whose
hash does not match, and an open deviation are marked in red, with words as well as colour.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from html import escape
from typing import TYPE_CHECKING, Any

from queries.custody import CustodySignature

if TYPE_CHECKING:
    from queries.evidence import Evidence

AUDIT_ROWS = 500  # audit entries shown in the report; audit.json has all of them

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem;color:#1a1a1a;
line-height:1.4;max-width:90rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;
border-bottom:1px solid #ccc;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f2f2f2}td.n{text-align:right;font-variant-numeric:tabular-nums}
code,.h{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem;word-break:break-all}
tr.bad td{background:#fde2e1}tr.warn td{background:#fff4d6}
.flag{color:#a40000;font-weight:700}.ok{color:#176b1c;font-weight:700}
.muted{color:#666}.question{font-size:1.1rem;background:#f5f7fa;padding:.6rem 1rem;
border-left:4px solid #4a6fa5}
@media print{body{margin:0}}
"""


def number(value: float | int | None) -> str:
    """A quantity as plain decimal text (``120``, ``0.1``): exact, sortable, no exponent."""
    if value is None:
        return ""
    text = format(Decimal(repr(float(value))).normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _e(value: Any) -> str:
    return "" if value is None else escape(str(value), quote=True)


def _table(
    head: Iterable[str],
    rows: Iterable[tuple[Iterable[Any], str]],
    numeric: Iterable[int] = (),
) -> str:
    """Rows are (cells, row class); cells are already-escaped HTML."""
    right = set(numeric)
    out = ["<table><thead><tr>", *(f"<th>{_e(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for cells, cls in rows:
        out.append(f'<tr class="{cls}">' if cls else "<tr>")
        for i, cell in enumerate(cells):
            out.append(f'<td class="n">{cell}</td>' if i in right else f"<td>{cell}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _not_valid(signatures: Sequence[CustodySignature]) -> str:
    counts = Counter(s.status for s in signatures if s.status != "valid")
    text = []
    if counts["hash_mismatch"]:
        text.append(f'<span class="flag">{counts["hash_mismatch"]} hash mismatch</span>')
    if counts["superseded"]:
        text.append(f"{counts['superseded']} superseded")
    return ", ".join(text)


def _dl(items: Iterable[tuple[str, str]]) -> str:
    """A two-column table of labelled values (``v`` is already-escaped HTML)."""
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in items)
    return f"<table><tbody>{rows}</tbody></table>"


def render_report(
    evidence: Evidence,
    *,
    created_at: str,
    created_by: str,
    version: str,
    hashes: Mapping[str, str],
    sizes: Mapping[str, int] | None = None,
) -> bytes:
    r = evidence.recall
    root = next((x for x in r.lots if x.root), None)
    lot = evidence.lot
    docs = evidence.documents
    status = docs.signature_status
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Evidence package: lot {_e(lot)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Evidence package: lot {_e(lot)}</h1>",
        f'<p class="question">Lot <b>{_e(lot)}</b> is suspect: what did it go into, where did '
        "it ship, how much is still here, and which records and signatures stand behind it?</p>",
        _dl(
            [
                ("lot", f"<code>{_e(lot)}</code>"),
                (
                    "material",
                    _e(root.material_id if root else None)
                    + (
                        f" ({_e(evidence.material_names.get(root.material_id))})"
                        if root
                        and root.material_id
                        and evidence.material_names.get(root.material_id)
                        else ""
                    ),
                ),
                ("site", _e(root.site if root else None)),
                ("status", _e(root.status if root else None)),
                ("package created (UTC)", _e(created_at)),
                ("created by", _e(created_by)),
                ("lotgraph version", _e(version)),
            ]
        ),
    ]

    # -- the recall figures --
    shortfalls = [m for m in r.mass_balance if not m.balanced]
    mismatched = status.get("hash_mismatch", 0)
    parts.append("<h2>Recall scope</h2>")
    parts.append(
        _dl(
            [
                ("affected lots (this lot and everything made from it)", _e(len(r.lots))),
                ("batches that consumed them", _e(len(r.batches))),
                ("customers that received them", _e(len(r.customers))),
                (
                    "shipments",
                    _e(len(evidence.forward.shipments)),
                ),
                (
                    "open deviations",
                    (f'<span class="flag">{len(r.open_deviations)}</span>')
                    if r.open_deviations
                    else "0",
                ),
                ("documents", _e(len(docs.documents))),
                (
                    "signatures",
                    f"{_e(status.get('valid', 0))} valid, "
                    + (
                        f'<span class="flag">{mismatched} hash mismatch</span>'
                        if mismatched
                        else "0 hash mismatch"
                    )
                    + f", {_e(status.get('superseded', 0))} superseded",
                ),
                (
                    "upstream (backward trace)",
                    f"{len(evidence.backward.lots)} ancestor lots, "
                    f"{len(evidence.backward.batches)} batches, suppliers: "
                    + (_e(", ".join(evidence.backward.suppliers)) or "none"),
                ),
            ]
        )
    )

    # -- mass balance --
    parts.append("<h2>Mass balance</h2>")
    parts.append(
        '<p class="flag">SHORTFALL: part of the lot is not accounted for.</p>'
        if shortfalls
        else '<p class="ok">Balanced: consumed + shipped + on hand equals the quantity.</p>'
    )
    parts.append(
        _table(
            [
                "lot",
                "unit",
                "expected",
                "consumed",
                "shipped",
                "on hand",
                "accounted",
                "% accounted",
                "shortfall",
                "",
            ],
            (
                (
                    [
                        f"<code>{_e(m.lot)}</code>",
                        _e(m.unit),
                        _e(number(m.expected)),
                        _e(number(m.consumed)),
                        _e(number(m.shipped)),
                        _e(number(m.on_hand)),
                        _e(number(m.accounted)),
                        _e(number(m.percent_accounted)),
                        _e(number(m.shortfall)),
                        '<span class="ok">balanced</span>'
                        if m.balanced
                        else '<span class="flag">SHORTFALL</span>'
                        if (m.shortfall or 0) > 0
                        else '<span class="flag">NOT BALANCED</span>',
                    ],
                    "" if m.balanced else "bad",
                )
                for m in r.mass_balance
            ),
            numeric=range(2, 9),
        )
    )
    unreported = [x.id for x in r.lots if x.root and not x.on_hand_reported]
    if unreported:
        parts.append(
            '<p class="muted">On hand was never reported for this lot: it counts as 0.</p>'
        )

    # -- customers --
    parts.append(f"<h2>Customers ({len(r.customers)})</h2>")
    parts.append(
        _table(
            ["customer", "name", "lots received", "shipments", "quantity"],
            (
                (
                    [
                        f"<code>{_e(c.id)}</code>",
                        _e(c.name),
                        _e(", ".join(c.lots)),
                        _e(", ".join(c.shipments)),
                        _e(number(c.quantity)),
                    ],
                    "",
                )
                for c in r.customers
            ),
            numeric=[4],
        )
        if r.customers
        else "<p>No affected lot was shipped.</p>"
    )

    # -- open deviations --
    if r.open_deviations:
        parts.append(f"<h2>Open deviations ({len(r.open_deviations)})</h2>")
        parts.append(
            _table(
                ["deviation", "severity", "status", "category", "affects"],
                (
                    (
                        [
                            f"<code>{_e(d.id)}</code>",
                            _e(d.severity),
                            _e(d.status or "unknown (not ingested yet)"),
                            _e(d.category),
                            _e(", ".join(d.affects)),
                        ],
                        "bad",
                    )
                    for d in r.open_deviations
                ),
            )
        )

    # -- documents and signatures --
    parts.append(f"<h2>Documents ({len(docs.documents)})</h2>")
    parts.append(
        _table(
            [
                "document",
                "kind",
                "title",
                "current version",
                "lots",
                "batches",
                "signatures",
                "not valid",
            ],
            (
                (
                    [
                        f"<code>{_e(d.document_id)}</code>"
                        + (' <span class="flag">unresolved</span>' if d.unresolved else ""),
                        _e(d.kind),
                        _e(d.title),
                        _e(d.current_version),
                        _e(", ".join(d.lots)),
                        _e(", ".join(d.batches)),
                        _e(len(d.signatures)),
                        _not_valid(d.signatures),
                    ],
                    "bad" if any(s.status == "hash_mismatch" for s in d.signatures) else "",
                )
                for d in docs.documents
            ),
            numeric=[3, 6],
        )
        if docs.documents
        else "<p>No document concerns the affected lots.</p>"
    )
    names = {p.id: p.name for p in docs.signers}
    every = [s for d in docs.documents for s in d.signatures]
    signatures = [s for s in every if s.status != "valid"]
    parts.append(f"<h2>Signatures that are not valid ({len(signatures)} of {len(every)})</h2>")
    parts.append(
        '<p class="muted">valid: the signature records the hash of the version it signs, '
        "and that version is current. hash mismatch: the recorded hash is not the "
        "version's (the record changed after signing). superseded: a later version "
        "exists, so the signature does not apply to the current one. Every signature, "
        "valid ones included, is in documents.json.</p>"
    )
    if signatures:
        parts.append(
            _table(
                [
                    "signature",
                    "document",
                    "version",
                    "meaning",
                    "signer",
                    "signed at",
                    "status",
                    "recorded sha256",
                    "version sha256",
                ],
                (
                    (
                        [
                            f"<code>{_e(s.signature_id)}</code>",
                            f"<code>{_e(s.document_id)}</code>",
                            _e(s.document_version),
                            _e(s.meaning),
                            _e(s.signer_id)
                            + (f" ({_e(who)})" if (who := names.get(s.signer_id or "")) else ""),
                            _e(s.signed_at),
                            '<span class="flag">HASH MISMATCH</span>'
                            if s.status == "hash_mismatch"
                            else _e(s.status),
                            f'<span class="h">{_e(s.record_sha256)}</span>',
                            f'<span class="h">{_e(s.content_sha256)}</span>',
                        ],
                        "bad"
                        if s.status == "hash_mismatch"
                        else "warn"
                        if s.status == "superseded"
                        else "",
                    )
                    for s in signatures
                ),
                numeric=[2],
            )
        )

    # -- affected lots --
    parts.append(f"<h2>Affected lots ({len(r.lots)})</h2>")
    depth = {n.id: n.depth for n in evidence.forward.nodes if n.label == "Lot"}
    parts.append(
        _table(
            [
                "lot",
                "depth",
                "material",
                "site",
                "status",
                "quantity",
                "unit",
                "consumed",
                "shipped",
                "on hand",
            ],
            (
                (
                    [
                        f"<code>{_e(x.id)}</code>"
                        + (" (root)" if x.root else "")
                        + (' <span class="flag">unresolved</span>' if x.unresolved else ""),
                        _e(depth.get(x.id, 0)),
                        _e(x.material_id),
                        _e(x.site),
                        _e(x.status),
                        _e(number(x.quantity)),
                        _e(x.unit),
                        _e(number(x.consumed)),
                        _e(number(x.shipped)),
                        _e(number(x.on_hand)) + ("" if x.on_hand_reported else " (not reported)"),
                    ],
                    "",
                )
                for x in r.lots
            ),
            numeric=[1, 5, 7, 8, 9],
        )
    )

    # -- audit extract --
    entries = evidence.audit
    parts.append(f"<h2>Audit extract ({len(entries)} entries)</h2>")
    if entries:
        if len(entries) > AUDIT_ROWS:
            parts.append(
                f'<p class="muted">The last {AUDIT_ROWS} entries; audit.json has all '
                f"{len(entries)}.</p>"
            )
        parts.append(
            _table(
                ["at", "actor", "action", "entity", "key", "reason"],
                (
                    (
                        [
                            _e(a.get("at")),
                            _e(a.get("actor")),
                            _e(a.get("action")),
                            _e(a.get("entity")),
                            f"<code>{_e(a.get('key'))}</code>",
                            _e(a.get("reason")),
                        ],
                        "",
                    )
                    for a in entries[-AUDIT_ROWS:]
                ),
            )
        )
    else:
        parts.append(
            "<p>No audit entry names these lots, batches, documents or signatures (they "
            "were written once by an ingest and never changed since).</p>"
        )

    # -- files --
    parts.append("<h2>Files of this package</h2>")
    parts.append(
        _table(
            ["file", "bytes", "SHA-256"],
            (
                (
                    [
                        f"<code>{_e(name)}</code>",
                        _e(sizes.get(name) if sizes else ""),
                        f'<span class="h">{_e(digest)}</span>',
                    ],
                    "",
                )
                for name, digest in hashes.items()
            ),
            numeric=[1],
        )
    )
    parts.append(
        '<p class="muted">This report and manifest.json are not listed above: a file cannot '
        "hold its own hash. manifest.json holds the SHA-256 of every file, this report "
        "included; record the SHA-256 of manifest.json itself elsewhere (lotgraph prints it) "
        "and check the package with <code>lotgraph evidence verify FILE.zip</code>.</p>"
    )
    parts.append("</body></html>\n")
    return "\n".join(parts).encode("utf-8")
