"""RFC 8785 canonical JSON: the byte form every integrity hash is taken over."""

from __future__ import annotations

import hashlib

import pytest

from graph.canonical import NotCanonical, canonical_json, sha256_hex


def test_numbers_are_spelled_as_rfc_8785_says() -> None:
    values = [0.0, -0.0, 1.0, 1e21, 1e-7, 0.000001, 333333333.3333333, 5e-324, 2.5]
    assert canonical_json(values) == b"[0,0,1,1e+21,1e-7,0.000001,333333333.3333333,5e-324,2.5]"


def test_keys_sort_by_utf16_code_units_and_strings_keep_their_characters() -> None:
    # RFC 8785 §3.2.3's example: U+1F600 (a surrogate pair) sorts before U+FB33
    value = {"\ufb33": 0, "\U0001f600": 1, "\u20ac": 2, "\u00f6": 3, "\u0080": 4, "1": 5, "\r": 6}
    assert (
        canonical_json(value)
        == ('{"\\r":6,"1":5,"\u0080":4,"\u00f6":3,"\u20ac":2,"\U0001f600":1,"\ufb33":0}').encode()
    )


def test_the_hash_is_over_the_canonical_bytes_whatever_the_key_order() -> None:
    a = {"title": "CoA", "lines": [{"analyte": "Assay", "value": 99.5}], "n": 1}
    b = {"n": 1.0, "lines": [{"value": 99.50, "analyte": "Assay"}], "title": "CoA"}
    assert sha256_hex(a) == sha256_hex(b) == hashlib.sha256(canonical_json(a)).hexdigest()
    assert sha256_hex({**a, "n": 2}) != sha256_hex(a)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), {1: "x"}, {"a": object()}])
def test_values_without_a_json_form_are_refused(bad: object) -> None:
    with pytest.raises(NotCanonical):
        canonical_json(bad)
