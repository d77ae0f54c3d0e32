# RoomCal: `make demo` runs the full local demo, `make test` runs every check. Both set up from nothing.
PY := .venv/bin/python
PYTEST_ARGS ?=

.PHONY: setup demo test lint format bench clean lock audit

setup: .stamps/venv .stamps/npm .venv-tools/installed

.stamps/venv: requirements.txt requirements-dev.txt devtools/setup.sh
	bash devtools/setup.sh python

# checkov, pip-audit and pip-tools in a venv of their own: checkov pins packages the app must not inherit.
.venv-tools/installed: requirements-tools.txt devtools/setup.sh
	bash devtools/setup.sh tools

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

# Runtime lock: every package of requirements.txt and below, pinned with hashes. Run after changing requirements.txt.
lock: .venv-tools/installed
	CUSTOM_COMPILE_COMMAND="make lock" .venv-tools/bin/pip-compile --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links --quiet \
		--output-file requirements.lock requirements.txt

# Known-vulnerability audit of the lock (also part of `make test`, tests/infra/test_dependencies.py).
audit: .venv-tools/installed
	.venv-tools/bin/pip-audit --requirement requirements.lock --require-hashes --disable-pip --progress-spinner off

bench: setup
	$(PY) -m benchmarks

clean:
	rm -rf .venv .venv-tools node_modules .stamps .azurite .run .pytest_cache .ruff_cache
