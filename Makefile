# Two commands work on a fresh machine with nothing installed: `make test` and `make demo`.
# uv is installed into .tools/ on first use; the project environment is synced from uv.lock.

UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
PYTHON ?= python3
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export UV_PYTHON_PREFERENCE := only-system

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: test demo synth sandbox bench lint typecheck browser clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen
	@touch $@

lint: .venv/.synced
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .

typecheck: .venv/.synced
	$(UV) run --frozen mypy shared functions infra local

# The connect test drives Debian's Chromium (a browser download is not possible here).
browser:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

test: lint typecheck browser
	$(UV) run --frozen pytest

demo: .venv/.synced
	$(UV) run --frozen python -m local_stack.demo

synth: .venv/.synced
	$(UV) run --frozen python -m infra.app

sandbox: .venv/.synced
	$(UV) run --frozen fortnox-bridge sandbox --demo-company

bench: .venv/.synced
	$(UV) run --frozen python -m bench

clean:
	rm -rf .venv $(TOOLS) build cdk.out .pytest_cache .mypy_cache .ruff_cache
