"""Identifiers in the graph: GS1 EPC URNs and Digital Links, and lotgraph's own ids.

A lot's id may be an EPC class URN (``urn:epc:class:lgtin:...``); ``to_class_urn`` turns a
GS1 Digital Link of the same lot into it, so the import, ``trace``, ``recall`` and the API
accept either form (docs/EPCIS.md).

An id of lotgraph's that is not already a URI (``L-2026-0001``, ``SITE-A``) travels in
EPCIS as a URN of lotgraph's private namespace, ``urn:lotgraph:<kind>:<id>`` with the id
percent-encoded, and comes back as the same id when read (docs/EPCIS.md).
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

# The vocabulary types of EPCIS master data lotgraph reads and writes, as the standard names
# them (shared by the EPCIS import and the export).
VTYPE_EPC_CLASS = "urn:epcglobal:epcis:vtype:EPCClass"
VTYPE_LOCATION = "urn:epcglobal:epcis:vtype:Location"
VTYPE_READ_POINT = "urn:epcglobal:epcis:vtype:ReadPoint"
VTYPE_BUSINESS_LOCATION = "urn:epcglobal:epcis:vtype:BusinessLocation"
VTYPE_PARTY = "urn:epcglobal:epcis:vtype:Party"

LOCAL_PREFIX = "urn:lotgraph:"
URI_SCHEMES = ("urn:", "http://", "https://")
LOCAL_KINDS = frozenset(
    {"lot", "material", "batch", "site", "shipment", "customer", "supplier", "party"}
)


def is_uri(value: str) -> bool:
    """Is ``value`` a URI that EPCIS can carry as it is (a URN or a web URI)? Other text
    with a colon (``LOT:12``) is an id, not a URI."""
    return value.startswith(URI_SCHEMES) and len(value) > value.index(":") + 1


def local_urn(kind: str, value: str) -> str:
    """The URI under which lotgraph writes one of its ids into EPCIS: the id itself when it
    is a URI already, else ``urn:lotgraph:<kind>:<percent-encoded id>``."""
    if kind not in LOCAL_KINDS:
        raise ValueError(f"unknown lotgraph id kind {kind!r}")
    if is_uri(value):
        return value
    return f"{LOCAL_PREFIX}{kind}:{quote(value, safe='')}"


def from_local_urn(uri: str) -> tuple[str, str] | None:
    """``(kind, id)`` of a ``urn:lotgraph:`` URN, or None for any other URI."""
    if not uri.startswith(LOCAL_PREFIX):
        return None
    kind, colon, encoded = uri[len(LOCAL_PREFIX) :].partition(":")
    if not colon or kind not in LOCAL_KINDS or not encoded:
        return None
    return kind, unquote(encoded)


# --- GS1 identifiers: EPC URNs and GS1 Digital Link --------------------------------------
#
# The CBV 2.0 event hash compares identifiers in one form, the canonical GS1 Digital Link
# URI (https://id.gs1.org/<AI>/<key>...), so every EPC URN an event may carry is converted
# here (GS1 Tag Data Standard 2.0 §6/§7 and the GS1 Digital Link standard). A URN always
# tells where the GS1 Company Prefix ends (the first dot); a Digital Link does not, which is
# why the way back (to_class_urn) needs the company-prefix length table.

DIGITAL_LINK_HOST = "https://id.gs1.org"

# characters a GS1 Digital Link path must percent-encode (GS1 Digital Link 1.2 table 7-1) that
# an EPC URN may carry unencoded
_DL_ENCODE = {"!": "%21", "(": "%28", ")": "%29", "*": "%2A", "+": "%2B", ",": "%2C", ":": "%3A"}
_EPC_CHARS = r"(?:%[0-9A-Fa-f]{2}|[!')(*+,.0-9:;=A-Za-z_-])"
_EPC_TEXT = re.compile(rf"{_EPC_CHARS}+")
# a GS1 AI 82 character set value (the subset a canonical Digital Link keeps unencoded)
_AI82 = r"[\x22\x27\x2D\x2E\x30-\x39\x3B-\x3F\x41-\x5A\x5F\x61-\x7A]"


# how many dot-separated fields an EPC URN scheme has (the last may contain dots)
_EPC_FIELDS = {
    "id:sgtin": 3, "class:lgtin": 3, "id:sgln": 3, "id:grai": 3, "id:gdti": 3,
    "id:sgcn": 3, "id:cpi": 3, "id:upui": 3, "id:itip": 5, "id:giai": 2, "id:ginc": 2,
}  # fmt: skip


def gs1_check_digit(digits: str) -> str:
    """The GS1 mod-10 check digit of a key without it (GTIN, GLN, SSCC, GSRN, ...)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str(-total % 10)


def _dl_encode(value: str) -> str:
    return "".join(_DL_ENCODE.get(c, c) for c in value)


def _gtin14(company_prefix: str, item_reference: str) -> str:
    """GTIN-14 from an EPC's company prefix and item reference (indicator digit first)."""
    body = item_reference[:1] + company_prefix + item_reference[1:]
    return body + gs1_check_digit(body)


def _digits(*parts: str, total: int) -> bool:
    # a 12-digit company prefix leaves an empty reference (``urn:epc:id:pgln:999999999999.``)
    return all(p.isdigit() or not p for p in parts) and sum(map(len, parts)) == total


def _epc_urn_to_dl(scheme: str, parts: list[str]) -> str | None:  # noqa: C901 - one case a scheme
    """The Digital Link path of an EPC URN's scheme and dot-separated fields, else None."""
    if not parts or not (6 <= len(parts[0]) <= 12 and parts[0].isdigit()):
        return None
    cp = parts[0]
    n = len(parts)
    if scheme in ("id:sgtin", "class:lgtin") and n == 3 and _digits(cp, parts[1], total=13):
        ai = "21" if scheme == "id:sgtin" else "10"
        if _EPC_TEXT.fullmatch(parts[2]):
            return f"/01/{_gtin14(cp, parts[1])}/{ai}/{_dl_encode(parts[2])}"
    elif scheme == "id:sscc" and n == 2 and _digits(cp, parts[1], total=17):
        body = parts[1][:1] + cp + parts[1][1:]
        return f"/00/{body}{gs1_check_digit(body)}"
    elif scheme == "id:sgln" and n == 3 and _digits(cp, parts[1], total=12):
        gln = cp + parts[1] + gs1_check_digit(cp + parts[1])
        if parts[2] == "0":
            return f"/414/{gln}"
        if _EPC_TEXT.fullmatch(parts[2]):
            return f"/414/{gln}/254/{_dl_encode(parts[2])}"
    elif scheme == "id:pgln" and n == 2 and _digits(cp, parts[1], total=12):
        return f"/417/{cp + parts[1]}{gs1_check_digit(cp + parts[1])}"
    elif scheme == "id:grai" and n == 3 and _digits(cp, parts[1], total=12):
        body = "0" + cp + parts[1]
        if _EPC_TEXT.fullmatch(parts[2]):
            return f"/8003/{body}{gs1_check_digit(body)}{_dl_encode(parts[2])}"
    elif scheme in ("id:giai", "id:ginc") and n >= 2:
        reference = ".".join(parts[1:])
        if _EPC_TEXT.fullmatch(reference):
            return f"/{'8004' if scheme == 'id:giai' else '401'}/{cp}{_dl_encode(reference)}"
    elif scheme in ("id:gsrn", "id:gsrnp") and n == 2 and _digits(cp, parts[1], total=17):
        body = cp + parts[1]
        return f"/{'8018' if scheme == 'id:gsrn' else '8017'}/{body}{gs1_check_digit(body)}"
    elif scheme == "id:gsin" and n == 2 and _digits(cp, parts[1], total=16):
        return f"/402/{cp + parts[1]}{gs1_check_digit(cp + parts[1])}"
    elif scheme == "id:gdti" and n == 3 and _digits(cp, parts[1], total=12):
        body = cp + parts[1]
        if _EPC_TEXT.fullmatch(parts[2]):
            return f"/253/{body}{gs1_check_digit(body)}{_dl_encode(parts[2])}"
    elif scheme == "id:sgcn" and n == 3 and _digits(cp, parts[1], total=12) and parts[2].isdigit():
        body = cp + parts[1]
        return f"/255/{body}{gs1_check_digit(body)}{parts[2]}"
    elif scheme == "id:cpi" and n == 3 and parts[2].isdigit():
        return f"/8010/{_dl_encode(cp + parts[1])}/8011/{parts[2]}"
    elif scheme == "id:itip" and n == 5 and _digits(cp, parts[1], total=13):
        if _digits(parts[2], parts[3], total=4) and _EPC_TEXT.fullmatch(parts[4]):
            gtin = _gtin14(cp, parts[1])
            return f"/8006/{gtin}{parts[2]}{parts[3]}/21/{_dl_encode(parts[4])}"
    elif scheme == "id:upui" and n == 3 and _digits(cp, parts[1], total=13):
        if _EPC_TEXT.fullmatch(parts[2]):
            return f"/01/{_gtin14(cp, parts[1])}/235/{_dl_encode(parts[2])}"
    elif scheme.startswith("idpat:") and parts[-1] == "*":
        return _pattern_to_dl(scheme[len("idpat:") :], parts[:-1])
    return None


def _pattern_to_dl(scheme: str, parts: list[str]) -> str | None:
    """An EPC pattern URN (``urn:epc:idpat:sgtin:CP.IR.*``): the class it names."""
    cp, n = parts[0], len(parts)
    if scheme in ("sgtin", "upui") and n == 2 and _digits(cp, parts[1], total=13):
        return f"/01/{_gtin14(cp, parts[1])}"
    if scheme in ("grai", "gdti", "sgcn") and n == 2 and _digits(cp, parts[1], total=12):
        body = ("0" if scheme == "grai" else "") + cp + parts[1]
        ai = {"grai": "8003", "gdti": "253", "sgcn": "255"}[scheme]
        return f"/{ai}/{body}{gs1_check_digit(body)}"
    if scheme == "cpi" and n == 2:
        return f"/8010/{_dl_encode(cp + parts[1])}"
    if (
        scheme == "itip"
        and n == 4
        and _digits(cp, parts[1], total=13)
        and _digits(parts[2], parts[3], total=4)
    ):
        return f"/8006/{_gtin14(cp, parts[1])}{parts[2]}{parts[3]}"
    return None


# short names of Digital Link primary keys and qualifiers, and their AIs
_DL_SHORT_NAMES = {
    "gtin": "01", "itip": "8006", "cpid": "8010", "gln": "414", "party": "417",
    "gsrnp": "8017", "gsrn": "8018", "gcn": "255", "sscc": "00", "gdti": "253",
    "ginc": "401", "gsin": "402", "grai": "8003", "giai": "8004", "cpv": "22",
    "lot": "10", "ser": "21",
}  # fmt: skip
# primary keys in the order a non-canonical Digital Link is searched for them
_DL_PRIMARY = ("00", "01", "253", "255", "401", "402", "414", "417", "8003", "8004",
               "8006", "8010", "8017", "8018")  # fmt: skip
_DL_LIKE = re.compile(
    r"^https?://[^/?#]*(?:[^?#]*)/(?:01|gtin|8006|itip|8010|cpid|414|gln|417|party|8017|gsrnp"
    r"|8018|gsrn|255|gcn|00|sscc|253|gdti|401|ginc|402|gsin|8003|grai|8004|giai)/\d{4}[^/]+"
)
_CANONICAL_DL = [
    re.compile(p)
    for p in (
        r"/00/\d{18}",
        rf"/01/\d{{14}}/21/{_AI82}{{0,20}}",
        rf"/01/\d{{14}}/10/{_AI82}{{0,20}}",
        r"/01/\d{14}",
        rf"/01/\d{{14}}/235/{_AI82}{{0,28}}",
        rf"/253/\d{{13}}{_AI82}{{0,17}}",
        r"/255/\d{13}\d{0,12}",
        rf"/401/{_AI82}{{0,30}}",
        r"/402/\d{17}",
        r"/414/\d{13}",
        rf"/414/\d{{13}}/254/{_AI82}{{0,20}}",
        r"/417/\d{13}",
        rf"/8003/\d{{14}}{_AI82}{{0,16}}",
        rf"/8004/{_AI82}{{0,30}}",
        rf"/8006/\d{{18}}/21/{_AI82}{{0,20}}",
        rf"/8006/\d{{18}}/10/{_AI82}{{0,20}}",
        r"/8006/\d{18}",
        r"/8010/[\x23\x2D\x2F\x30-\x39\x41-\x5A]{0,30}/8011/\d{0,12}",
        r"/8010/[\x23\x2D\x2F\x30-\x39\x41-\x5A]{0,30}",
        r"/8017/\d{18}",
        r"/8018/\d{18}",
    )
]


def _normalise_dl(uri: str) -> str | None:
    """A GS1 Digital Link URI in its canonical, constrained form: host id.gs1.org, AIs not
    short names, GTIN-14, no CPV, the finest level only (a serial drops the lot), no query."""
    if not _DL_LIKE.match(uri):
        return None
    uri = uri.split("?", 1)[0].split("#", 1)[0]
    for short, ai in _DL_SHORT_NAMES.items():
        uri = uri.replace(f"/{short}/", f"/{ai}/")
    if not re.match(rf"^{re.escape(DIGITAL_LINK_HOST)}/(?:{'|'.join(_DL_PRIMARY)})/\d{{4}}", uri):
        for ai in _DL_PRIMARY:
            at = uri.find(f"/{ai}/")
            if at >= 0:
                uri = DIGITAL_LINK_HOST + uri[at:]
                break
    path = uri[len(DIGITAL_LINK_HOST) :] if uri.startswith(DIGITAL_LINK_HOST) else uri
    gtin = re.match(r"^/01/(\d+)", path)
    if gtin and len(gtin.group(1)) in (8, 12, 13):
        path = f"/01/{gtin.group(1).zfill(14)}" + path[gtin.end() :]
    # a consumer product variant (AI 22) is no part of the identity the hash compares
    path = re.sub(rf"^(/01/\d{{14}}|/8006/\d{{18}})/22/{_AI82}{{0,20}}(?=/|$)", r"\1", path)
    # a serial is finer than a lot: keep only the serial
    path = re.sub(rf"^(/01/\d{{14}}|/8006/\d{{18}})/10/{_AI82}{{0,20}}(?=/21/)", r"\1", path)
    if any(p.fullmatch(path) for p in _CANONICAL_DL):
        return DIGITAL_LINK_HOST + path
    return None


def to_digital_link(uri: str) -> str | None:
    """The canonical GS1 Digital Link URI (``https://id.gs1.org/...``) of a GS1 identifier
    given as an EPC URN (``urn:epc:id:sgtin:...``), an EPC class or pattern URN
    (``urn:epc:class:lgtin:...``, ``urn:epc:idpat:sgtin:...:*``) or a Digital Link on any
    host; None when ``uri`` names no GS1 key."""
    if uri.startswith("urn:epc:"):
        # a serial or lot may hold a colon: the scheme is the first two fields
        fields = uri[len("urn:epc:") :].split(":", 2)
        if len(fields) != 3:
            return None
        scheme = f"{fields[0]}:{fields[1]}"
        # the last field (serial, lot, extension) may hold dots too
        path = _epc_urn_to_dl(scheme, fields[2].split(".", _EPC_FIELDS.get(scheme, 99) - 1))
        return DIGITAL_LINK_HOST + path if path else None
    if uri.startswith(("http://", "https://")):
        return _normalise_dl(uri)
    return None


# --- Digital Link lots as EPC class URNs --------------------------------------------------
#
# A GTIN does not say where its GS1 Company Prefix ends; the LGTIN URN does
# (urn:epc:class:lgtin:<prefix>.<indicator + item reference>.<lot>). The prefix length comes
# from GS1's table of assigned prefix lengths, which the package biip ships (a copy of GS1's
# gcpprefixformatlist). A GTIN whose prefix is not in that table (a test or unassigned
# range, a GTIN-8) is split after DEFAULT_COMPANY_PREFIX_LENGTH digits: the URN is still a
# valid LGTIN URN that names the same GTIN and lot (to_digital_link gives the same link
# back), it only may split the GTIN where its owner would not.

DEFAULT_COMPANY_PREFIX_LENGTH = 7
_DL_LOT = re.compile(
    r"^https?://[^/?#]+(?:/[^?#]*?)?/(?:01|gtin)/(\d{8}|\d{12,14})/(?:10|lot)/([^/?#]+)"
)
# characters an EPC URN carries as they are (TDS 2.0 table A-1); others are %-encoded
_URN_SAFE = frozenset("!'()*+,-.0123456789:;=ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz")


def company_prefix_length(gtin14: str) -> int | None:
    """The length of the GS1 Company Prefix of a GTIN-14, from GS1's prefix table; None
    when the table does not know it."""
    from biip.gs1_prefixes import GS1CompanyPrefix

    found = GS1CompanyPrefix.extract(gtin14[1:])
    length = len(found.value) if found is not None else 0
    return length if 6 <= length <= 12 else None


def _urn_encode(text: str) -> str:
    return "".join(c if c in _URN_SAFE else quote(c, safe="") for c in text)


def lgtin_urn(gtin: str, lot: str, *, prefix_length: int | None = None) -> str:
    """``urn:epc:class:lgtin:CP.IR.LOT`` of a GTIN (8 to 14 digits) and a lot number."""
    gtin14 = gtin.zfill(14)
    if not gtin14.isdigit() or len(gtin14) != 14:
        raise ValueError(f"{gtin!r} is not a GTIN")
    length = prefix_length or company_prefix_length(gtin14) or DEFAULT_COMPANY_PREFIX_LENGTH
    prefix = gtin14[1 : 1 + length]
    item_reference = gtin14[0] + gtin14[1 + length : 13]
    return f"urn:epc:class:lgtin:{prefix}.{item_reference}.{_urn_encode(lot)}"


def to_class_urn(value: str) -> str:
    """The lot a value names, in lotgraph's lot-id form: a GS1 Digital Link with a GTIN
    (AI 01) and a lot (AI 10), on any host, as ``urn:epc:class:lgtin:CP.IR.LOT`` (a serial
    after the lot is dropped: the lot is the class); any other value as it is (an LGTIN URN
    already, another scheme's lot id such as GDST's ``urn:gdst:...:lot:class:...``, or a
    link whose GTIN check digit is wrong)."""
    match = _DL_LOT.match(value)
    if not match:
        return value
    gtin14 = match.group(1).zfill(14)
    if gs1_check_digit(gtin14[:-1]) != gtin14[-1]:
        return value  # a wrong check digit: no GTIN, so no LGTIN either
    return lgtin_urn(gtin14, unquote(match.group(2)))


_LGTIN_OR_SGTIN = re.compile(r"^urn:epc:(?:class:lgtin|id:sgtin):(\d{6,12})\.(\d{1,7})\.(.+)$")


def product_class(value: str) -> str:
    """The product (GTIN) a lot or an instance belongs to, as the EPC pattern URN
    ``urn:epc:idpat:sgtin:CP.IR.*``: of an LGTIN or SGTIN URN, or of a Digital Link lot."""
    match = _LGTIN_OR_SGTIN.match(to_class_urn(value))
    if not match or len(match.group(1)) + len(match.group(2)) != 13:
        raise ValueError(f"{value!r} is not a GS1 lot (LGTIN) or instance (SGTIN)")
    return f"urn:epc:idpat:sgtin:{match.group(1)}.{match.group(2)}.*"


def lot_of_class(value: str) -> str | None:
    """The lot number of an LGTIN URN or a Digital Link lot (decoded), else None."""
    match = _LGTIN_OR_SGTIN.match(to_class_urn(value))
    if not match or not value.startswith(("urn:epc:class:lgtin:", "http")):
        return None
    return unquote(match.group(3))
