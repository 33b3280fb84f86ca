"""The field-level diff of two document versions' content (queries/document_diff.py)."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from graph.canonical import canonical_json
from queries.document_diff import FieldChange, content_diff

OLD = {
    "title": "CoA L-1",
    "results": [
        {"analyte": "Assay", "value": 99.5},
        {"analyte": "Water", "value": 0.12},
        {"analyte": "Impurity B", "value": 0.04},
    ],
    "approved": False,
    "notes": {"lot no.": "S-17", "remark": "none"},
}


def _changes(old: Any, new: Any) -> list[tuple[str, str, Any, Any]]:
    return [(c.path, c.change, c.old, c.new) for c in content_diff(old, new)]


def test_added_removed_and_changed_fields_with_nested_paths() -> None:
    new = {
        "title": "CoA L-1",
        "results": [
            {"analyte": "Assay", "value": 99.5},
            {"analyte": "Water", "value": 0.12},
            {"analyte": "Impurity B", "value": 0.07, "method": "HPLC-2"},
            {"analyte": "Impurity C", "value": 0.01},
        ],
        "approved": True,
        "notes": {"lot no.": "S-18"},
        "reviewer": "qa-a2",
    }
    assert _changes(OLD, new) == [
        ("approved", "changed", False, True),
        ('notes["lot no."]', "changed", "S-17", "S-18"),
        ("notes.remark", "removed", "none", None),
        ("results[2].method", "added", None, "HPLC-2"),
        ("results[2].value", "changed", 0.04, 0.07),
        ("results[3]", "added", None, {"analyte": "Impurity C", "value": 0.01}),
        ("reviewer", "added", None, "qa-a2"),
    ]


def test_a_shorter_array_and_a_value_whose_kind_changed() -> None:
    new = {**OLD, "results": OLD["results"][:1], "notes": "see deviation DEV-1"}
    assert _changes(OLD, new) == [
        ("notes", "changed", OLD["notes"], "see deviation DEV-1"),
        ("results[1]", "removed", OLD["results"][1], None),
        ("results[2]", "removed", OLD["results"][2], None),
    ]


def test_json_equality_not_python_equality() -> None:
    assert content_diff({"n": 1}, {"n": 1.0}) == []  # one number (RFC 8785: "1")
    assert _changes({"ok": True}, {"ok": 1}) == [("ok", "changed", True, 1)]
    assert _changes({"ok": 0}, {"ok": False}) == [("ok", "changed", 0, False)]
    assert _changes({"x": None}, {}) == [("x", "removed", None, None)]
    assert _changes({"x": "1"}, {"x": 1}) == [("x", "changed", "1", 1)]
    assert content_diff(OLD, OLD) == []


def test_a_change_names_only_what_it_has() -> None:
    (added,) = content_diff({}, {"a": 1})
    (removed,) = content_diff({"a": 1}, {})
    assert added == FieldChange(path="a", change="added", new=1)
    assert removed == FieldChange(path="a", change="removed", old=1)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from([0.5, 1.0]) | st.text("ab"),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text("ab. ", max_size=3), inner, max_size=3)
    ),
    max_leaves=12,
)
_STEP = re.compile(r'\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')


def _at(value: Any, path: str) -> Any:
    """The value a change's path names (the path read back, step by step)."""
    text = path if path.startswith("[") or not path else "." + path
    position = 0
    while position < len(text):
        step = _STEP.match(text, position)
        assert step is not None, (path, position)
        name, index, quoted = step.groups()
        value = value[int(index)] if index is not None else value[name or json.loads(quoted)]
        position = step.end()
    return value


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text("ab. ", max_size=3), _JSON, max_size=4), st.data())
def test_no_change_exactly_when_canonically_equal_and_every_path_resolves(
    old: dict[str, Any], data: st.DataObject
) -> None:
    new = data.draw(st.dictionaries(st.text("ab. ", max_size=3), _JSON, max_size=4) | st.just(old))
    changes = content_diff(old, new)
    assert (changes == []) == (canonical_json(old) == canonical_json(new))
    for change in changes:
        if change.change in ("removed", "changed"):
            assert canonical_json(_at(old, change.path)) == canonical_json(change.old)
        if change.change in ("added", "changed"):
            assert canonical_json(_at(new, change.path)) == canonical_json(change.new)
    paths = [c.path for c in changes]
    assert len(set(paths)) == len(paths)  # each field once
