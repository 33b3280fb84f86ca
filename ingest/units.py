"""Units a quantity may be given in, and conversion within one dimension (DESIGN §3)."""

from __future__ import annotations

from typing import Final

# unit -> (dimension, factor to the dimension's base unit)
_UNITS: Final[dict[str, tuple[str, float]]] = {
    "kg": ("mass", 1000.0),
    "g": ("mass", 1.0),
    "mg": ("mass", 0.001),
    "L": ("volume", 1000.0),
    "mL": ("volume", 1.0),
    "ea": ("count", 1.0),
}
_ALIASES: Final = {u.lower(): u for u in _UNITS} | {"l": "L", "ml": "mL"}

KNOWN_UNITS: Final = ", ".join(_UNITS)


class UnitError(ValueError):
    pass


def canonical_unit(unit: str) -> str:
    """The unit's canonical spelling; raises UnitError for a unit the model does not know."""
    found = _ALIASES.get(unit.strip().lower())
    if found is None:
        raise UnitError(f"unknown unit {unit!r}; known units: {KNOWN_UNITS}")
    return found


def convert(quantity: float, unit: str, to_unit: str) -> float:
    """Quantity expressed in to_unit; raises UnitError across dimensions."""
    source, target = canonical_unit(unit), canonical_unit(to_unit)
    if source == target:
        return quantity
    (dim_from, f_from), (dim_to, f_to) = _UNITS[source], _UNITS[target]
    if dim_from != dim_to:
        raise UnitError(
            f"unit {source!r} ({dim_from}) cannot be converted to the lot's unit {target!r} ({dim_to})"
        )
    # Round away binary noise (0.1 g -> 0.0001 kg, not 0.00010000000000000002).
    return round(quantity * f_from / f_to, 9)
