# golive: `make run` sets everything up and runs it; `make test` sets up and runs every check.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
DEPS  := $(VENV)/.deps-installed
VENDOR := web/static/vendor/livekit-client.esm.mjs

.PHONY: run web test lint typecheck jscheck pytest setup system system-browser check bench clean

run: setup ## run the bot and the web sidecar (the sidecar alone without DISCORD_TOKEN)
	$(VENV)/bin/golive run

web: setup ## run the web sidecar alone
	$(VENV)/bin/golive web

test: setup system-browser lint typecheck jscheck pytest ## everything CI runs

setup: system $(DEPS) $(VENDOR)

system:
	@scripts/bootstrap.sh

system-browser:
	@scripts/bootstrap.sh --with-browser

$(PY):
	python3 -m venv $(VENV)

$(DEPS): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

$(VENDOR): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build
	@touch $@

lint: setup
	$(VENV)/bin/ruff check .

typecheck: setup
	$(VENV)/bin/mypy

jscheck: setup ## eslint and the type check (tsc --checkJs) of the page modules in web/static
	cd web && npx --no-install eslint . && npx --no-install tsc -p tsconfig.json

pytest: setup
	$(VENV)/bin/pytest -q

check: setup ## validate the configuration and reach LiveKit and Discord
	$(VENV)/bin/golive check

bench: setup
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) web/node_modules web/static/vendor .mypy_cache .ruff_cache .pytest_cache
