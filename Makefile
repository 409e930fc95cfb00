# Two commands work on a fresh machine with nothing installed: `make test` and `make demo`.
# uv is installed into .tools/ on first use; the project environment is synced from uv.lock.

UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
CDK := node_modules/.bin/cdk
PYTHON ?= python3
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export UV_PYTHON_PREFERENCE := only-system

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: test demo synth sandbox bench lint typecheck browser clean cdk-cli deploy-prereqs deploy diff

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

# tests/infra/test_deploy.py synthesizes through the CDK CLI, as the README's deployment guide does.
test: lint typecheck browser $(CDK)
	$(UV) run --frozen pytest

demo: .venv/.synced
	$(UV) run --frozen python -m local_stack.demo

# Deployment context as key=value pairs, the same for `make synth`, `make diff` and `make deploy`:
#   make deploy CONTEXT="stage=prod fortnox_client_id=<id> alarm_email=ops@example.se"
# (`fortnox_client_id` may come from the FORTNOX_CLIENT_ID environment variable instead; README "Deploying to AWS").
CONTEXT ?=

synth: .venv/.synced
	$(UV) run --frozen python -m infra.app $(CONTEXT)

# The CDK CLI at the locked version (package-lock.json); cdk.json runs the app through $(UV).
$(CDK): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

cdk-cli: $(CDK)

deploy-prereqs: .venv/.synced $(CDK)

diff: deploy-prereqs
	$(CDK) diff $(addprefix --context ,$(CONTEXT))

deploy: deploy-prereqs
	$(CDK) deploy $(addprefix --context ,$(CONTEXT))

sandbox: .venv/.synced
	$(UV) run --frozen fortnox-bridge sandbox --demo-company

bench: .venv/.synced
	$(UV) run --frozen python -m bench

clean:
	rm -rf .venv $(TOOLS) build cdk.out node_modules .pytest_cache .mypy_cache .ruff_cache
