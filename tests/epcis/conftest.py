"""The API fixture of tests/api for the POST /ingest/epcis tests."""

from tests.api.conftest import api, secret_hashes

__all__ = ["api", "secret_hashes"]
