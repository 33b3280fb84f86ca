"""GS1 identifiers: EPC URNs to canonical GS1 Digital Link and Digital Link lots to LGTIN
URNs, on every identifier the reference files carry, and lotgraph's private URNs."""

from __future__ import annotations

import random
import re
from urllib.parse import unquote

import pytest
from biip.checksums import gs1_standard_check_digit

from graph.identifiers import (
    DEFAULT_COMPANY_PREFIX_LENGTH,
    company_prefix_length,
    from_local_urn,
    gs1_check_digit,
    lgtin_urn,
    local_urn,
    lot_of_class,
    product_class,
    to_class_urn,
    to_digital_link,
)
from tests.epcis.reference import reference_dir

# malformed EPC URNs in the reference files (opentraceability): none names a GS1 key
MALFORMED = {
    "urn:epc:id:sscc:08600031303.0003": "11 + 4 digits, an SSCC URN has 17",
    "urn:epc:id:sscc:08600031303.0004": "11 + 4 digits",
    "urn:epc:id:sscc:08600031303.0005": "11 + 4 digits",
    "urn:epc:id:sscc:08600081808.0003": "11 + 4 digits",
    "urn:epc:idpat:sgtin:08600031303.00": "a pattern without its '.*'",
    "urn:epc:idpat:sgtin:08600031304.00": "a pattern without its '.*'",
    "urn:epc:idpat:sgtin:08600031305.00": "a pattern without its '.*'",
}


def _identifiers_in_reference() -> tuple[set[str], set[str]]:
    urns: set[str] = set()
    links: set[str] = set()
    for path in reference_dir().rglob("*"):
        if path.suffix not in (".json", ".jsonld", ".xml") or "schema" in path.parts:
            continue
        text = path.read_text(errors="replace")
        urns |= set(re.findall(r"urn:epc:(?:id|class|idpat):[a-z]+:[^\s\"<>,\]]+", text))
        links |= set(re.findall(r"https?://[^\s\"<>]+/01/\d{8,14}/10/[^\s\"<>/?]+", text))
    return urns, links


def test_every_epc_urn_of_the_reference_files_has_a_canonical_digital_link() -> None:
    urns, _ = _identifiers_in_reference()
    assert len(urns) > 100
    for urn in sorted(urns):
        link = to_digital_link(urn)
        if urn in MALFORMED:
            assert link is None, urn
            continue
        assert link is not None, urn
        assert link.startswith("https://id.gs1.org/")
        assert to_digital_link(link) in (link, None), "a canonical link stays as it is"
        gtin = re.match(r"^https://id\.gs1\.org/01/(\d{14})", link)
        if gtin:
            assert int(gtin.group(1)[-1]) == gs1_standard_check_digit(gtin.group(1)[:-1])


def test_lgtin_urns_round_trip_through_digital_link() -> None:
    urns, _ = _identifiers_in_reference()
    lots = sorted(u for u in urns if u.startswith("urn:epc:class:lgtin:"))
    assert len(lots) >= 10
    for urn in lots:
        link = to_digital_link(urn)
        assert link is not None and "/10/" in link
        assert to_class_urn(link) == urn
        company_prefix, item_reference, lot = urn.rsplit(":", 1)[1].split(".", 2)
        assert product_class(urn) == f"urn:epc:idpat:sgtin:{company_prefix}.{item_reference}.*"
        assert lot_of_class(urn) == unquote(lot) == lot_of_class(link)


def test_digital_link_lots_of_the_reference_files_become_lgtin_urns() -> None:
    _, links = _identifiers_in_reference()
    assert links
    for link in links:
        urn = to_class_urn(link)
        assert urn.startswith("urn:epc:class:lgtin:")
        gtin, lot = re.search(r"/01/(\d+)/10/([^/?#]+)", link).groups()  # type: ignore[union-attr]
        assert to_digital_link(urn) == f"https://id.gs1.org/01/{gtin.zfill(14)}/10/{lot}"


def test_any_host_short_names_and_query_strings() -> None:
    urn = to_class_urn("http://brand.example/products/gtin/4012345123456/lot/L%2F7?linkType=all")
    assert urn == "urn:epc:class:lgtin:4012345.012345.L%2F7"
    # a serial after the lot names an instance of the lot: the class is the lot
    assert to_class_urn("https://id.gs1.org/01/04012345123456/10/L7/21/9") == (
        "urn:epc:class:lgtin:4012345.012345.L7"
    )
    assert to_digital_link("https://x.example/01/04012345123456/10/L7/21/9") == (
        "https://id.gs1.org/01/04012345123456/21/9"
    )


def test_other_lot_ids_are_kept_as_given() -> None:
    for value in (
        "urn:gdst:example.org:product:lot:class:processor.2u.v1-0122-2022",
        "urn:lotgraph:lot:L-2026-0001",
        "urn:epc:class:lgtin:4012345.012345.998877",
    ):
        assert to_class_urn(value) == value
    with pytest.raises(ValueError):
        product_class("urn:gdst:example.org:product:lot:class:x")


def test_company_prefix_length_from_gs1s_table_and_its_fallback() -> None:
    assert company_prefix_length("04012345123456") == 7
    assert company_prefix_length("00614141123452") == 7
    # a restricted-circulation GTIN (prefix 02) has no company prefix in the table: the
    # documented default length applies, and the URN still names the same GTIN and lot
    assert company_prefix_length("02012345678903") is None
    urn = lgtin_urn("02012345678903", "B1")
    cut = DEFAULT_COMPANY_PREFIX_LENGTH
    assert urn == f"urn:epc:class:lgtin:{'201234567890'[:cut]}.0{'201234567890'[cut:]}.B1"
    assert to_digital_link(urn) == "https://id.gs1.org/01/02012345678903/10/B1"
    assert to_class_urn("https://id.gs1.org/01/02012345678903/10/B1") == urn
    wrong_check_digit = "https://id.gs1.org/01/02012345678905/10/B1"
    assert to_class_urn(wrong_check_digit) == wrong_check_digit


def test_check_digits_agree_with_an_independent_implementation() -> None:
    rng = random.Random()
    seed = rng.randrange(1_000_000)
    print(f"seed {seed}")
    rng.seed(seed)
    for _ in range(500):
        digits = "".join(
            rng.choice("0123456789") for _ in range(rng.choice((7, 11, 12, 13, 16, 17)))
        )
        assert int(gs1_check_digit(digits)) == gs1_standard_check_digit(digits)


def test_random_lots_round_trip() -> None:
    rng = random.Random()
    seed = rng.randrange(1_000_000)
    print(f"seed {seed}")
    rng.seed(seed)
    alphabet = "ABCXYZabc0123456789-._!()*+,:/%&?\"'"
    for _ in range(300):
        body = "".join(rng.choice("0123456789") for _ in range(12))
        gtin = str(rng.randrange(10)) + body + gs1_check_digit(str(rng.randrange(10)) + body)
        gtin = gtin[:-1] + gs1_check_digit(gtin[:-1])
        lot = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 20)))
        urn = lgtin_urn(gtin, lot)
        link = to_digital_link(urn)
        assert link is not None and link.startswith(f"https://id.gs1.org/01/{gtin}/10/")
        assert to_class_urn(link) == urn
        assert lot_of_class(urn) == lot


def test_local_urns_round_trip() -> None:
    for kind, value in (("lot", "L-2026/0001 a"), ("site", "SITE:A"), ("batch", "B%1")):
        urn = local_urn(kind, value)
        assert urn.startswith(f"urn:lotgraph:{kind}:")
        assert from_local_urn(urn) == (kind, value)
