# The two commands a newcomer needs: `make local-up` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
# The deployment stage (dev, staging, prod, local, e2e) is STAGE for every target; each target has
# its own default. ENV= and TARGET= are older spellings of it and still work. Not to be confused
# with API Gateway's stage, which is always `prod`. `make promote` takes two stages: FROM and TO.
STAGE ?= $(or $(ENV),$(TARGET))
stage_or = $(or $(STAGE),$(1))
# The tools import the load suite, stage_access, the services and (for verify, promote and cost)
# the packages under infrastructure/.
TOOLS_PATH := PYTHONPATH=infrastructure:services:.
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
        infra-test e2e-test fidelity-test model-test trigger-rule load-test deploy promote verify cost lint format clean

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
# The layer as deployed (arm64); the same pins built for this machine, which the local stack loads
# in its place when the machine is not arm64; and the boto3 the Lambda runtime ships.
$(LAYER): pyproject.toml scripts/requirements.py | $(VENV)/.installed
	rm -rf build/lambda-layer build/lambda-layer-host build/lambda-runtime-sdk
	mkdir -p build/lambda-layer/python build/lambda-layer-host/python build/lambda-runtime-sdk/python
	$(PY) scripts/requirements.py runtime > build/lambda-layer/requirements.txt
	cp build/lambda-layer/requirements.txt build/lambda-layer-host/requirements.txt
	$(PY) -m pip install --quiet --target build/lambda-layer/python --platform manylinux2014_aarch64 \
	  --implementation cp --python-version 3.11 --only-binary=:all: -r build/lambda-layer/requirements.txt
	$(PY) -m pip install --quiet --target build/lambda-layer-host/python --only-binary=:all: \
	  -r build/lambda-layer-host/requirements.txt
	$(PY) -m pip install --quiet --target build/lambda-runtime-sdk/python --only-binary=:all: \
	  $$($(PY) scripts/requirements.py lambda-runtime-sdk)
	find build -name '__pycache__' -prune -exec rm -rf {} +
	touch $@

layer: $(LAYER) ## Build the Lambda layer (runtime dependencies for arm64)

synth: install $(LAYER) ## Synthesize the CDK app offline (STAGE=dev|staging|prod|local, default dev)
	$(CDK) synth -c env=$(call stage_or,dev) --quiet

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

unit-test: install $(LOCAL_TEMPLATE) ## Unit tests (domain, handlers with moto, local stack parts)
	$(PY) -m pytest tests/unit -q

contract-test: install ## Validate the schemas, their examples and that every emitted message has a schema
	$(PY) -m pytest tests/contract -q

infra-test: install $(LAYER) ## CDK assertion tests on the synthesized template
	$(PY) -m pytest tests/infrastructure -q

e2e-test: install $(LOCAL_TEMPLATE) $(E2E_TEMPLATE) ## End-to-end tests against a fresh local stack (or E2E_STACK_JSON=...)
	$(PY) -m pytest tests/e2e -q

fidelity-test: install $(LOCAL_TEMPLATE) $(E2E_TEMPLATE) ## The local stack's AWS fidelity tests (probe stacks)
	$(PY) -m pytest tests/fidelity -q

# The stateful model of the session lifecycle alone (tests/model, docs/RELIABILITY.md), for MODEL_MINUTES.
MODEL_MINUTES ?= 5
model-test: install $(E2E_TEMPLATE) ## The session model against a real e2e stack for MODEL_MINUTES (default 5); fails on any broken invariant
	MODEL_MINUTES=$(MODEL_MINUTES) $(PY) -m pytest tests/model -q -s

trigger-rule: ## Run an EventBridge schedule rule's targets now (RULE=name)
	@$(PY) -m local_stack trigger-rule $(RULE)

test: install $(LOCAL_TEMPLATE) $(E2E_TEMPLATE) ## All tests: unit, contract, infrastructure and end-to-end
	$(PY) -m pytest tests -q --durations=10

SCALE ?= smoke
FROM ?= staging
TO ?= prod
load-test: install $(LOCAL_TEMPLATE) $(E2E_TEMPLATE) ## Load run with p95 gates (STAGE=local|staging SCALE=smoke|capacity|full|soak [WORKERS=n])
	$(TOOLS_PATH) $(PY) -m loadtests.run --target $(call stage_or,local) --scale $(SCALE) $(if $(WORKERS),--workers $(WORKERS))

# Refused before CloudFormation is called when the credentials are not the account the stage's config names.
deploy: install $(LAYER) ## Deploy STAGE=dev|staging (prod only through promote) after checking the account
	$(TOOLS_PATH) $(PY) -m promote.account_guard --stage $(call stage_or,dev)
	$(CDK) deploy SessionManagement-$(call stage_or,dev) -c env=$(call stage_or,dev) -c commit=$$(git rev-parse HEAD) \
		--require-approval broadening --outputs-file reports/$(call stage_or,dev)-outputs.json

promote: install $(LOCAL_TEMPLATE) $(E2E_TEMPLATE) ## Deploy TO only if FROM meets the load gates (FROM=staging TO=prod [DRY_RUN=1])
	$(TOOLS_PATH) $(PY) -m promote.promotion --from $(FROM) --to $(TO) $(if $(WORKERS),--workers $(WORKERS))

verify: install ## Deployment checklist + smoke test against a stage, as a pass/fail table (STAGE=local|dev|staging|prod)
	$(TOOLS_PATH) $(PY) -m verify.verify_stage --stage $(call stage_or,local)

COST_TEMPLATE ?= $(LOCAL_TEMPLATE)
cost: install $(COST_TEMPLATE) ## Monthly AWS cost of a usage profile from the stack's resources (COST_ARGS="--sessions-per-day 50 ...")
	$(TOOLS_PATH) $(PY) -m cost --template $(COST_TEMPLATE) $(COST_ARGS)

lint: install ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy services infrastructure local_stack loadtests stage_access

format: install ## Format and autofix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean: local-down ## Remove build outputs (keeps .venv and node_modules)
	rm -rf cdk.out cdk.out-e2e build .local .pytest_cache .mypy_cache .ruff_cache
