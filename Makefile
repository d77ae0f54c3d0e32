# RoomCal: `make demo` runs the full local demo, `make test` runs every check. Both set up from nothing.
PY := .venv/bin/python
PYTEST_ARGS ?=

.PHONY: setup demo test lint format bench clean

setup: .stamps/venv .stamps/npm

.stamps/venv: requirements.txt requirements-dev.txt devtools/setup.sh
	bash devtools/setup.sh python

.stamps/npm: package.json package-lock.json devtools/setup.sh
	bash devtools/setup.sh node

.stamps/browser: devtools/setup.sh
	bash devtools/setup.sh browser

demo: setup
	$(PY) -m devtools.demo

lint: setup
	$(PY) -m ruff check .

format: setup
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

test: setup lint .stamps/browser
	$(PY) -m pytest $(PYTEST_ARGS)

bench: setup
	$(PY) -m benchmarks

clean:
	rm -rf .venv node_modules .stamps .azurite .run .pytest_cache .ruff_cache
