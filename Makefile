# The two commands a newcomer needs: `make local-up` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
ENV ?= dev
CDK := JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 node_modules/.bin/cdk
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE := 1

# `make -s token USER=alice`; without USER on the command line, the local dev user.
TOKEN_USER := $(if $(filter command line,$(origin USER)),$(USER),dev-speaker)

SOURCES := $(shell find services infrastructure contracts -type f \( -name '*.py' -o -name '*.json' \) -not -path '*/__pycache__/*' 2>/dev/null)
LOCAL_TEMPLATE := cdk.out/SessionManagement-local.template.json
# The lifecycle tests run a stage whose timings are seconds (infrastructure/config/e2e.json).
E2E_TEMPLATE := cdk.out-e2e/SessionManagement-e2e.template.json
LAYER := build/lambda-layer/.built

.PHONY: help install layer synth local-up local-down local-status token test unit-test contract-test \
        infra-test e2e-test fidelity-test trigger-rule load-test promote verify cost lint format clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml scripts/requirements.py
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $$($(PYTHON) scripts/requirements.py runtime aws local cdk load dev)
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed ## Install Python (.venv) and Node (node_modules) dependencies

# The shared Lambda layer: runtime dependencies built for Lambda's arm64 Python 3.11.
$(LAYER): pyproject.toml scripts/requirements.py | $(VENV)/.installed
	rm -rf build/lambda-layer && mkdir -p build/lambda-layer/python
	$(PY) -m pip install --quiet --target build/lambda-layer/python --platform manylinux2014_aarch64 \
	  --implementation cp --python-version 3.11 --only-binary=:all: $$($(PY) scripts/requirements.py runtime)
	find build/lambda-layer -name '__pycache__' -prune -exec rm -rf {} +
	touch $@

layer: $(LAYER) ## Build the Lambda layer (runtime dependencies for arm64)

synth: install $(LAYER) ## Synthesize the CDK app offline (ENV=dev|staging|prod|local)
	$(CDK) synth -c env=$(ENV) --quiet

$(LOCAL_TEMPLATE): $(SOURCES) $(LAYER) node_modules/.installed $(VENV)/.installed cdk.json
	$(CDK) synth -c env=local --quiet
	touch $@

BACKEND ?= embedded
$(E2E_TEMPLATE): $(SOURCES) $(LAYER) node_modules/.installed $(VENV)/.installed cdk.json
	$(CDK) synth -c env=e2e --quiet --output cdk.out-e2e
	touch $@

local-up: install $(LOCAL_TEMPLATE) ## Start the local stack and print its endpoints (BACKEND=localstack: see docs)
ifeq ($(BACKEND),localstack)
	@scripts/localstack-up.sh
else
	@$(PY) -m local_stack up
endif

local-down: ## Stop the local stack started by local-up
	@$(PY) -m local_stack down

local-status: ## Show whether the local stack runs, and its endpoints
	@$(PY) -m local_stack status

token: ## Print a speaker ID token from the local user pool (USER=alice to choose the user)
	@$(PY) -m local_stack token --user $(TOKEN_USER)

unit-test: install ## Unit tests (domain, handlers with moto, local stack parts)
	$(PY) -m pytest tests/unit -q

contract-test: install ## Validate the schemas, their examples and that every emitted message has a schema
	$(PY) -m pytest tests/contract -q

infra-test: install $(LAYER) ## CDK assertion tests on the synthesized template
	$(PY) -m pytest tests/infrastructure -q

e2e-test: install $(LOCAL_TEMPLATE) $(E2E_TEMPLATE) ## End-to-end tests against a fresh local stack (or E2E_STACK_JSON=...)
	$(PY) -m pytest tests/e2e -q

fidelity-test: install $(LOCAL_TEMPLATE) $(E2E_TEMPLATE) ## The local stack's AWS fidelity tests (probe stacks)
	$(PY) -m pytest tests/fidelity -q

trigger-rule: ## Run an EventBridge schedule rule's targets now (RULE=name)
	@$(PY) -m local_stack trigger-rule $(RULE)

test: install $(LOCAL_TEMPLATE) $(E2E_TEMPLATE) ## All tests: unit, contract, infrastructure and end-to-end
	$(PY) -m pytest tests -q --durations=10

TARGET ?= local
SCALE ?= smoke
FROM ?= staging
TO ?= prod
load-test: install $(LOCAL_TEMPLATE) $(E2E_TEMPLATE) ## Load run with p95 gates (TARGET=local|staging SCALE=smoke|capacity|full|soak [WORKERS=n])
	PYTHONPATH=services:. $(PY) -m loadtests.run --target $(TARGET) --scale $(SCALE) $(if $(WORKERS),--workers $(WORKERS))

promote: install $(LOCAL_TEMPLATE) $(E2E_TEMPLATE) ## Deploy TO only if FROM meets the load gates (FROM=staging TO=prod [DRY_RUN=1])
	PYTHONPATH=services:. $(PY) -m loadtests.promote --from $(FROM) --to $(TO) $(if $(WORKERS),--workers $(WORKERS))

STAGE ?= local
verify: install ## Deployment checklist + smoke test against a stage, as a pass/fail table (STAGE=local|dev|staging|prod)
	$(PY) infrastructure/verify/verify_stage.py --stage $(STAGE)

COST_TEMPLATE ?= $(LOCAL_TEMPLATE)
cost: install $(COST_TEMPLATE) ## Monthly AWS cost of a usage profile from the stack's resources (COST_ARGS="--sessions-per-day 50 ...")
	$(PY) infrastructure/cost/estimate.py --template $(COST_TEMPLATE) $(COST_ARGS)

lint: install ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy services infrastructure local_stack loadtests

format: install ## Format and autofix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean: local-down ## Remove build outputs (keeps .venv and node_modules)
	rm -rf cdk.out cdk.out-e2e build .local .pytest_cache .mypy_cache .ruff_cache
