"""What changed between two versions of a document: a field-level diff of their content.

Decisions:

- Only versions written over the API keep their content; a version from ingest has only
  its hash, so a diff that names one is refused (``ContentNotStored``: 409 over the API),
  never answered as "no change".
- Objects are compared key by key (sorted by key), arrays position by position: an
  element inserted at the front shows as every later position changed, and the arrays'
  extra tail as added or removed. This is what a reviewer reads against the two versions
  side by side, and it needs no guess at which elements "moved".
- A change names its path as a reader writes it: ``results[2].value``; a key that is not
  a plain name is quoted, ``notes["lot no."]``. A value whose kind changed (an object
  became a number) is one ``changed`` entry with both whole values. ``true`` is not
  ``1``, but ``1`` and ``1.0`` are the same number (RFC 8785 writes both as ``1``).
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel

from graph.store import GraphStore
from queries.document_record import DocumentFacts, document_facts
from queries.errors import NotFound, QueryError
from queries.snapshot import one_snapshot

ChangeKind = Literal["added", "removed", "changed"]
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class FieldChange(BaseModel):
    path: str
    change: ChangeKind
    old: Any = None  # absent for "added"
    new: Any = None  # absent for "removed"


class DocumentDiff(BaseModel):
    document: str
    from_version: int
    to_version: int
    from_sha256: str | None
    to_sha256: str | None
    changes: list[FieldChange]


class ContentNotStored(QueryError):
    """A version named for a diff has no content to compare (it came from ingest)."""


def _key_path(path: str, key: str) -> str:
    if _PLAIN_KEY.match(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def _same(old: Any, new: Any) -> bool:
    """Equal as JSON values: a boolean is never a number; 1 and 1.0 are one number."""
    if isinstance(old, bool) or isinstance(new, bool):
        return isinstance(old, bool) and isinstance(new, bool) and old == new
    if isinstance(old, int | float) and isinstance(new, int | float):
        return old == new
    return type(old) is type(new) and old == new


def content_diff(old: Any, new: Any, path: str = "") -> list[FieldChange]:
    """Every field that differs between two JSON values, in path order."""
    if isinstance(old, dict) and isinstance(new, dict):
        changes: list[FieldChange] = []
        for key in sorted(old.keys() | new.keys()):
            at = _key_path(path, key)
            if key not in new:
                changes.append(FieldChange(path=at, change="removed", old=old[key]))
            elif key not in old:
                changes.append(FieldChange(path=at, change="added", new=new[key]))
            else:
                changes.extend(content_diff(old[key], new[key], at))
        return changes
    if isinstance(old, list) and isinstance(new, list):
        changes = []
        for index in range(max(len(old), len(new))):
            at = f"{path}[{index}]"
            if index >= len(new):
                changes.append(FieldChange(path=at, change="removed", old=old[index]))
            elif index >= len(old):
                changes.append(FieldChange(path=at, change="added", new=new[index]))
            else:
                changes.extend(content_diff(old[index], new[index], at))
        return changes
    if _same(old, new):
        return []
    return [FieldChange(path=path, change="changed", old=old, new=new)]


def _content_of(facts: DocumentFacts, number: int) -> tuple[Any, str | None]:
    found = facts.version_of(number)
    if found is None:
        raise NotFound("DocumentVersion", f"{facts.document_id}@{number}")
    _, node = found
    text = node.props.get("content")
    if not isinstance(text, str):
        raise ContentNotStored(
            f"version {number} of {facts.document_id} has no stored content to compare "
            "(it came from ingest, which records only its hash)"
        )
    try:
        content = json.loads(text)
    except ValueError:
        raise ContentNotStored(
            f"the stored content of version {number} of {facts.document_id} is not JSON: "
            "it was altered (see /verify)"
        ) from None
    sha = node.props.get("content_sha256")
    return content, sha if isinstance(sha, str) else None


@one_snapshot
def version_diff(
    store: GraphStore, document_id: str, from_version: int, to_version: int
) -> DocumentDiff:
    """The changes that take version ``from_version``'s content to ``to_version``'s."""
    facts = document_facts(store, document_id)
    old, old_sha = _content_of(facts, from_version)
    new, new_sha = _content_of(facts, to_version)
    return DocumentDiff(
        document=document_id,
        from_version=from_version,
        to_version=to_version,
        from_sha256=old_sha,
        to_sha256=new_sha,
        changes=content_diff(old, new),
    )
