"""GS1's official EPCIS 2.0 JSON schema as a validator, with the formats it names checked
(``uri``, ``date-time``) by rules of our own rather than by extra packages."""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import cache
from typing import Any

import jsonschema

from tests.epcis.reference import reference_dir

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")


def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True  # the schema's type check catches non-strings
    try:
        return (
            "T" in value and datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
        )
    except ValueError:
        return False


@cache
def _validator_at(path: str) -> jsonschema.Draft7Validator:
    with open(path, encoding="utf-8") as fh:
        schema = json.load(fh)
    formats = jsonschema.FormatChecker(formats=())
    formats.checks("uri")(lambda v: not isinstance(v, str) or bool(_URI.match(v)))
    formats.checks("date-time")(_is_date_time)
    return jsonschema.Draft7Validator(schema, format_checker=formats)


def epcis_validator() -> jsonschema.Draft7Validator:
    """The schema from the reference folder (skips, or fails in CI, when it is missing)."""
    return _validator_at(str(reference_dir() / "schema" / "EPCIS-JSON-Schema.json"))


def assert_valid(document: dict[str, Any]) -> None:
    """Fail naming the first few places where ``document`` breaks the official schema."""
    errors = sorted(epcis_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message[:300]}" for e in errors[:5])
