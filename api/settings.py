"""The API's settings, from ``LOTGRAPH_*`` variables, read when the app is built."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.bundle import BundleLimits

DEFAULT_SECRET = "change-me-this-is-not-a-secret"
_LIMITS = BundleLimits()  # the defaults, defined once in ingest


class InsecureSettings(RuntimeError):
    """The settings would run a real service with a known secret."""


class ApiSettings(BaseSettings):
    """How the service signs tokens, limits sign-ins and bounds uploads."""

    model_config = SettingsConfigDict(env_prefix="LOTGRAPH_", extra="ignore")

    secret_key: SecretStr = SecretStr(DEFAULT_SECRET)
    demo: bool = False  # a demo may run with the default secret; nothing else may
    token_minutes: int = 15
    # a dashboard session (POST /auth/sessions): how long its cookie lets a browser back in
    session_minutes: int = Field(default=15, ge=1)
    sign_in_attempts: int = 5  # consecutive failures before the account is locked
    lockout_minutes: int = 15
    max_bundle_mb: int = 100  # the upload as sent (compressed)
    # What one bundle may expand to, for the API and for `lotgraph ingest` alike: a zip
    # bomb is refused from its declared sizes before it is read, and while it is read.
    max_uncompressed_mb: int = Field(default=_LIMITS.max_uncompressed_mb, ge=1)
    max_bundle_rows: int = Field(default=_LIMITS.max_rows, ge=1)
    max_compression_ratio: float = Field(default=_LIMITS.max_compression_ratio, gt=1)
    max_event_rows: int = 50_000
    api_key_cache_seconds: int = 60
    access_flush_seconds: float = 0.2
    # access records waiting for the store (each a few hundred bytes); when full, requests
    # are refused with 503 rather than served without their access record
    access_buffer_max: int = 10_000

    def bundle_limits(self) -> BundleLimits:
        return BundleLimits(
            max_uncompressed_mb=self.max_uncompressed_mb,
            max_rows=self.max_bundle_rows,
            max_compression_ratio=self.max_compression_ratio,
        )

    def refuse_insecure(self) -> None:
        if self.demo:
            return
        secret = self.secret_key.get_secret_value()
        if secret == DEFAULT_SECRET or len(secret) < 32:
            raise InsecureSettings(
                "LOTGRAPH_SECRET_KEY must be set to a random value of at least 32 characters "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`); "
                "only LOTGRAPH_DEMO=true runs with the default"
            )
