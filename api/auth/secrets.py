"""Slow hashes for passwords and API keys, and the shape of an API key."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

API_KEY_PREFIX = "lgk_"
_HASHER = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) defaults


@cache
def dummy_hash() -> str:
    """Verified against when the name is unknown, so a miss costs what a hit costs; made
    on first use, not at import (it is a slow hash, and every CLI command imports this)."""
    return _HASHER.hash(secrets.token_urlsafe(16))


def hash_secret(secret: str) -> str:
    return _HASHER.hash(secret)


def verify_secret(secret_hash: str | None, secret: str) -> bool:
    try:
        return _HASHER.verify(secret_hash or dummy_hash(), secret) and secret_hash is not None
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: str  # public: how the account is found
    secret: str

    @property
    def text(self) -> str:
        return f"{API_KEY_PREFIX}{self.key_id}_{self.secret}"

    @classmethod
    def new(cls) -> ApiKey:
        return cls(secrets.token_hex(8), secrets.token_urlsafe(32))

    @classmethod
    def parse(cls, text: str) -> ApiKey | None:
        if not text.startswith(API_KEY_PREFIX):
            return None
        key_id, sep, secret = text[len(API_KEY_PREFIX) :].partition("_")
        if not sep or not key_id or not secret:
            return None
        return cls(key_id, secret)
