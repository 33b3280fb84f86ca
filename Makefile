# Two commands do all the set-up on a fresh machine (python3, make; Java 17 + Maven for Neo4j):
#   make demo   - the main job on the embedded store
#   make test   - lint, types and the whole test suite, against a real Neo4j (and, for the
#                 dashboard's browser test, Debian's chromium: installed with apt if missing)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_LOTS ?= 2000
CHROMIUM := /usr/bin/chromium
# apt-get needs root: sudo unless this already runs as root.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install test lint browser demo bench clean lock

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The browser the dashboard's browser test drives through Playwright: Debian's chromium,
# never a browser Playwright downloads. Nothing to do when it is there.
browser:
	@test -x $(CHROMIUM) || { \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

test: lint browser
	$(BIN)/python -m pytest -p no:cacheprovider

demo: install
	$(BIN)/lotgraph demo --lots $(DEMO_LOTS)

# Every benchmark with a target, then the table: each target beside its measured figure and
# the floor or baseline of the same run, with the machine (docs/BENCHMARKS.md). Hours at the
# default sizes: the 1M-lot plant's stores are built once and kept in benchmarks/output/.
BENCH_LOTS ?= 100000
BENCH_BIG_LOTS ?= 1000000
bench: install
	$(BIN)/python -m benchmarks.run_all --lots $(BENCH_LOTS) --big-lots $(BENCH_BIG_LOTS)

bench-api: install
	$(BIN)/python -m benchmarks.bench_api_load

# Refresh the pinned versions after changing dependencies in pyproject.toml.
lock:
	$(BIN)/python -m pip freeze --exclude-editable > constraints.txt

clean:
	rm -rf $(VENV) .lotgraph-test
