# golive: `make run` sets everything up and runs it; `make test` sets up and runs every check.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
# Two stamps: `make run` installs only what running needs; the dev and test tools come with
# `make setup` / `make test`.
RUNTIME := $(VENV)/.runtime-installed
DEV     := $(VENV)/.dev-installed
VENDOR := web/static/vendor/livekit-client.esm.mjs
# Brotli and gzip copies of web/static (python -m web.assets build); remade when a file changes.
COMPRESSED := web/build/static/.built
STATIC_FILES := $(shell find web/static -type f 2>/dev/null)

.PHONY: run web test lint typecheck jscheck pytest setup system system-test check bench lock messages clean

# --start-livekit: with no LiveKit answering at livekit.url on this machine, golive starts one
# (livekit-server --dev, or Docker's livekit-dev service) with its webhook pointed at golive,
# and stops it when it stops; else it says in one line what to install.
run: system $(RUNTIME) $(COMPRESSED) ## run the bot and the web sidecar (the sidecar alone without DISCORD_TOKEN)
	$(VENV)/bin/golive run --start-livekit

web: system $(RUNTIME) $(COMPRESSED) ## run the web sidecar alone
	$(VENV)/bin/golive web --start-livekit

test: setup system-test lint typecheck jscheck pytest ## everything CI runs

setup: system $(DEV) $(COMPRESSED) ## everything a developer needs (runtime + dev and test tools)

system:
	@scripts/bootstrap.sh

system-test:  # chromium for the page tests, postgresql's binaries for the PostgreSQL pass
	@scripts/bootstrap.sh --for-tests

$(PY):
	python3 -m venv $(VENV)

$(RUNTIME): pyproject.toml | $(PY)
	@echo "== installing golive and its runtime dependencies into $(VENV) (no test tools)"
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --progress-bar on -e .
	@touch $@

$(DEV): pyproject.toml $(RUNTIME)
	@echo "== installing the dev and test tools (pytest, mypy, ruff, playwright, simcord, ...)"
	$(PY) -m pip install --progress-bar on -e '.[dev]'
	@touch $@

$(VENDOR): web/package.json web/package-lock.json web/scripts/copy-vendor.mjs
	@echo "== installing the page scripts' npm packages and minifying livekit-client into web/static"
	cd web && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build
	@touch $@

$(COMPRESSED): $(RUNTIME) $(VENDOR) $(STATIC_FILES)
	@echo "== precompressing web/static (brotli, gzip) into web/build/static"
	$(PY) -m web.assets build >/dev/null
	@touch $@

lint: setup
	$(VENV)/bin/ruff check .

typecheck: setup
	$(VENV)/bin/mypy

jscheck: setup ## eslint and the type check (tsc --checkJs) of the page modules in web/static
	cd web && npx --no-install eslint . && npx --no-install tsc -p tsconfig.json

# The whole suite twice: on SQLite (the embedded default), then on a real PostgreSQL
# (tests/postgres.py: the server at 127.0.0.1:5432 if one answers, else a throwaway cluster).
pytest: setup
	$(VENV)/bin/pytest -q
	GOLIVE_TEST_DATABASE=postgresql $(VENV)/bin/pytest -q

check: system $(RUNTIME) ## validate the configuration and reach LiveKit and Discord
	$(VENV)/bin/golive check

bench: setup
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

messages: setup ## extract every user-visible string into golive.pot and update the .po catalogs
	$(PY) -m golive.messages

lock: ## re-pin requirements.lock (what the image installs) after changing pyproject.toml
	python3 -m venv /tmp/golive-lock-venv
	/tmp/golive-lock-venv/bin/pip install --quiet pip-tools
	PIP_CONSTRAINT= /tmp/golive-lock-venv/bin/pip-compile --quiet --strip-extras --no-emit-find-links \
		--no-emit-index-url --no-emit-trusted-host --annotation-style line \
		--output-file requirements.lock pyproject.toml
	rm -rf /tmp/golive-lock-venv

clean:
	rm -rf $(VENV) web/node_modules web/static/vendor web/build .mypy_cache .ruff_cache .pytest_cache
