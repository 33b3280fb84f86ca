# The lotgraph API and dashboard (docker-compose.yml runs them next to Neo4j).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LOTGRAPH_DATA_DIR=/data

WORKDIR /src
# Only the package sources: never a local .venv, .lotgraph data folder or password.
COPY pyproject.toml constraints.txt README.md ./
COPY graph ./graph
COPY ingest ./ingest
COPY queries ./queries
COPY api ./api
COPY dashboard ./dashboard
COPY lotgraph ./lotgraph
RUN pip install -c constraints.txt . \
    && useradd --create-home --uid 10001 lotgraph \
    && mkdir -p /data && chown lotgraph:lotgraph /data

USER lotgraph
WORKDIR /data
EXPOSE 8000 8501
CMD ["lotgraph", "serve", "--host", "0.0.0.0", "--port", "8000"]
