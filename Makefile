# Every target bootstraps .venv by itself. `make` turns any failure into exit code 2; scripts called by
# tests and CI use the entry points' own exit codes (see README).
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := compliance

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SYNTH_DIR ?= cdktf.out
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE := 1

VENV_STAMP := $(VENV)/.installed
SYNTH_INPUTS := $(shell find app lambda_src -type f -not -path '*/__pycache__/*' 2>/dev/null) cdktf.json
VALIDATE_INPUTS := $(wildcard tools/*.py)

.PHONY: venv synth validate compliance test lint clean taggable-types help shift

help:
	@echo "make compliance   synth (all environments) + terraform validate   [default]"
	@echo "make test         the test suite (as CI runs it)"
	@echo "make synth        synthesize app into $(SYNTH_DIR)/ (only when app/, lambda_src/ or config changed)"
	@echo "make validate     terraform init + validate every synthesized stack (offline with a provider mirror)"
	@echo "make lint         ruff"
	@echo "make clean        remove generated output (keeps .venv and local terraform state)"

$(VENV_STAMP): requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing the locked dependencies into $(VENV) (first run: about 2 minutes)"
	@PIP_EXTRA_INDEX_URL= $(PY) -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	@touch $@

venv: $(VENV_STAMP)

$(SYNTH_DIR)/manifest.json: $(SYNTH_INPUTS) $(VENV_STAMP)
	$(PY) -m app.main --outdir $(SYNTH_DIR)

synth: $(SYNTH_DIR)/manifest.json

$(SYNTH_DIR)/.validated: $(SYNTH_DIR)/manifest.json $(VALIDATE_INPUTS)
	$(PY) -m tools.validate_stacks $(SYNTH_DIR)
	@touch $@

validate: $(SYNTH_DIR)/.validated

compliance: validate
	@echo "compliance: synth and terraform validate passed for every environment ($(SYNTH_DIR)/)"

test: $(VENV_STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV_STAMP)
	$(PY) -m ruff check .

taggable-types: $(VENV_STAMP)
	$(PY) -m tools.extract_taggable_types

clean:
	rm -rf $(SYNTH_DIR) compliance_reports/*.html compliance_reports/*.json .terraform-cli .pytest_cache .ruff_cache

# Blue/green traffic shift, e.g. `make shift ENV=prod GREEN=10` (blue = 100 - GREEN unless BLUE= is given).
shift: $(VENV_STAMP)
	@test -n "$(ENV)" -a -n "$(GREEN)" || { echo "usage: make shift ENV=<dev|staging|prod> GREEN=<weight> [BLUE=<weight>]"; exit 2; }
	$(PY) -m tools.shift_traffic --env $(ENV) --green $(GREEN) $(if $(BLUE),--blue $(BLUE))
