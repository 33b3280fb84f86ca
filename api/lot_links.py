"""GS1 Digital Links in ``/lots/{lot_id}/...`` paths (docs/API.md "Lot ids").

A lot whose id is an EPC class URN (``urn:epc:class:lgtin:CP.IR.LOT``) may be named by its
GS1 Digital Link instead (``https://id.gs1.org/01/<GTIN>/10/<LOT>``, any host, a serial
after the lot allowed). A link holds slashes, so before routing this middleware replaces it
in the path by the URN the store keys the lot by (``graph.identifiers.to_class_urn``). Two
spellings are understood:

- the link percent-encoded as one path segment (``/lots/https%3A%2F%2Fid.gs1.org%2F01%2F…
  %2F10%2FLOT/trace``: what an HTTP client sends for an id quoted with no safe characters);
- the link as it is (``/lots/https://id.gs1.org/01/…/10/LOT/trace``): its key qualifiers
  (``/21/<serial>``) are read as long as a numeric GS1 application identifier comes next,
  and what follows is the route (lotgraph's route words are never numeric).

Anything else, including a link whose GTIN check digit is wrong, passes unchanged: the route
then answers for the id as given (404 for a lot the store does not hold).
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

from starlette.types import ASGIApp, Receive, Scope, Send

from graph.identifiers import to_class_urn

_PREFIX = "/lots/"
_RAW_PREFIX = b"/lots/"
# A raw Digital Link in the path, up to its lot; then key qualifiers (numeric AI, value).
_RAW_LINK = re.compile(
    r"^https?://[^/?#]+(?:/[^?#]*?)?/(?:01|gtin)/\d{8,14}/(?:10|lot)/[^/?#]+(?:/\d{2,4}/[^/?#]+)*"
)


class LotLinkMiddleware:
    """Pure ASGI: rewrites ``path`` and ``raw_path`` of a ``/lots/`` request named by link."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(_PREFIX):
            raw = (scope.get("raw_path") or quote(scope["path"]).encode("ascii")).decode("latin-1")
            rewritten = lot_link_path(raw)
            scope = dict(scope)
            if rewritten is not None:
                raw = rewritten
                scope["raw_path"] = raw.encode("ascii")
            # decoded once from the raw path, as ASGI servers do (Starlette's TestClient
            # decodes twice, which turns an id's own %23 into '#')
            scope["path"] = unquote(raw)
        await self.app(scope, receive, send)


def lot_link_path(raw_path: str) -> str | None:
    """The raw path with its Digital Link replaced by the lot's URN (percent-encoded as one
    segment), or None when the path names no lot by a Digital Link."""
    if not raw_path.startswith(_PREFIX):
        return None
    rest = raw_path[len(_PREFIX) :]
    segment, slash, tail = rest.partition("/")
    decoded = unquote(segment)
    if decoded.startswith(("http://", "https://")):
        link, route = decoded, slash + tail
    else:
        match = _RAW_LINK.match(rest)
        if match is None:
            return None
        link, route = match.group(0), rest[match.end() :]
    lot = to_class_urn(link)
    if lot == link:
        return None
    return _PREFIX + quote(lot, safe="") + route
