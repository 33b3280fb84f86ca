"""Errors the investigations raise."""


class QueryError(Exception):
    """Base of the errors an investigation reports to its caller."""


class NotFound(QueryError):
    def __init__(self, label: str, key: str) -> None:
        super().__init__(f"no {label.lower()} {key!r}")
        self.label = label
        self.key = key


class InvalidQuery(QueryError, ValueError):
    """An option of the question is malformed (the caller's mistake, not a bug)."""
