"""The app as uvicorn builds it in each worker: the store the environment names."""

from __future__ import annotations

from fastapi import FastAPI

from api.app import create_app
from lotgraph.settings import Settings
from lotgraph.stores import open_store


def app_from_environment() -> FastAPI:
    settings = Settings()
    return create_app(lambda: open_store(settings), settings.api)
