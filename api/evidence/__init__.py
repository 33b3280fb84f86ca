"""The evidence package over HTTP: ``GET /lots/{id}/evidence`` (docs/EVIDENCE.md)."""
