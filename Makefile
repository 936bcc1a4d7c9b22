# Every target bootstraps .venv by itself. `make` turns any failure into exit code 2; scripts called by
# tests and CI use the entry points' own exit codes (see README).
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := compliance

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SYNTH_DIR ?= cdktf.out
REPORT_DIR ?= compliance_reports
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE := 1

VENV_STAMP := $(VENV)/.installed
# Stages are keyed on content by tools/compliance.py (not on mtimes): unchanged inputs reuse the synth, the
# validation of each stack and the gate's results. FORCE=1 ignores every cache.
STAGE = $(PY) -m tools.compliance --synth-dir $(SYNTH_DIR) --report-dir $(REPORT_DIR) $(if $(FORCE),--force) \
	$(if $(TIMINGS),--timings $(TIMINGS))

.PHONY: venv synth validate gate mutate compliance test test-fast lint clean taggable-types help shift bench preflight plan deploy

help:
	@echo "make compliance   synth (all environments) + terraform validate + PCI policy gate   [default]"
	@echo "make test         the test suite (as CI runs it)"
	@echo "make test-fast    unit, policy and Lambda tests: no synth, terraform, PostgreSQL or Chromium (< 3 min)"
	@echo "make synth        synthesize app into $(SYNTH_DIR)/ (only when a file the synth reads changed)"
	@echo "make validate     terraform init + validate every synthesized stack (offline with a provider mirror)"
	@echo "make gate         PCI policy gate (checkov + JMESPath + exceptions register) -> $(REPORT_DIR)/"
	@echo "make mutate       prove every control can fail: break the synth per control, the gate must catch it"
	@echo "make preflight ENV=<env>   is the environment file ready for a real account (placeholders, ARNs, ...)"
	@echo "make plan ENV=<env>        compliance + preflight, then init + plan + summary + plan gate per stack"
	@echo "make deploy ENV=<env>      the same, applying each saved plan after confirmation (AUTO_APPROVE=1)"
	@echo "make lint         ruff, then mypy --strict over app/ and policies/ (README \"Type checking\")"
	@echo "make clean        remove generated output (keeps .venv and local terraform state)"

$(VENV_STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing the locked dependencies into $(VENV) (first run: about 2 minutes)"
	@PIP_EXTRA_INDEX_URL= $(PY) -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	@PIP_EXTRA_INDEX_URL= $(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation --editable .
	@touch $@

venv: $(VENV_STAMP)

synth: $(VENV_STAMP)
	$(STAGE) --stage synth

validate: $(VENV_STAMP)
	$(STAGE) --stage validate

gate: $(VENV_STAMP)
	$(STAGE) --stage gate $(if $(BASELINE),--baseline $(BASELINE)) $(if $(PDF),--pdf)

mutate: synth
	$(PY) -m policies mutate --synth-dir $(SYNTH_DIR)

compliance: $(VENV_STAMP)
	$(STAGE) --stage all $(if $(BASELINE),--baseline $(BASELINE)) $(if $(PDF),--pdf)
	@echo "compliance: synth, terraform validate and the PCI policy gate passed for every environment ($(SYNTH_DIR)/)"

test: $(VENV_STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# The markers are set by tests/conftest.py from the fixtures each test uses (README "Test tiers").
FAST_TIER := not (synth or synth_subprocess or terraform or postgres or chromium)
# On every core, one test module per worker (module-scoped emulators and platforms are set up once).
test-fast: $(VENV_STAMP)
	$(PY) -m pytest -m "$(FAST_TIER)" --hypothesis-profile=fast -n auto --dist loadfile $(PYTEST_ARGS)

# mypy reads its configuration (strict, the files app/ and policies/) from pyproject.toml; .mypy_cache keeps
# a warm run to a few seconds.
lint: $(VENV_STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy

taggable-types: $(VENV_STAMP)
	$(PY) -m tools.extract_taggable_types

# Besides the synth: staging and parked directories a killed synth left beside it (.<name>.synth-*, .<name>.old-*).
SYNTH_LEFTOVERS = $(dir $(SYNTH_DIR)).$(notdir $(SYNTH_DIR)).synth-* $(dir $(SYNTH_DIR)).$(notdir $(SYNTH_DIR)).old-*

clean:
	rm -rf $(SYNTH_DIR) $(SYNTH_LEFTOVERS) .cache .terraform-cli .pytest_cache .ruff_cache .mypy_cache .build .deploy
	find compliance_reports -mindepth 1 ! -name README.md -delete 2>/dev/null || true

# Blue/green traffic shift, e.g. `make shift ENV=prod GREEN=10` (blue = 100 - GREEN unless BLUE= is given).
shift: $(VENV_STAMP)
	@test -n "$(ENV)" -a -n "$(GREEN)" || { echo "usage: make shift ENV=<dev|staging|prod> GREEN=<weight> [BLUE=<weight>]"; exit 2; }
	$(PY) -m tools.shift_traffic --env $(ENV) --green $(GREEN) $(if $(BLUE),--blue $(BLUE))

# The real deploy path (README "Deploying for real"). tools.deploy runs `make compliance` (cached) and the
# preflight itself, so `python -m tools.deploy` cannot skip them either.
ENV_REQUIRED = test -n "$(ENV)" || { echo "usage: make $@ ENV=<dev|staging|prod>" >&2; exit 2; }

preflight: $(VENV_STAMP)
	@$(ENV_REQUIRED)
	$(PY) -m tools.preflight --env $(ENV)

plan: $(VENV_STAMP)
	@$(ENV_REQUIRED)
	$(PY) -m tools.deploy plan --env $(ENV) --synth-dir $(SYNTH_DIR) --report-dir $(REPORT_DIR)

deploy: $(VENV_STAMP)
	@$(ENV_REQUIRED)
	$(PY) -m tools.deploy deploy --env $(ENV) --synth-dir $(SYNTH_DIR) --report-dir $(REPORT_DIR) \
		$(if $(filter 1,$(AUTO_APPROVE)),--auto-approve)

# Benchmarks (bench/bench.py): prints a table and writes bench/results.json; takes ~10 minutes.
bench: $(VENV_STAMP)
	$(PY) bench/bench.py $(BENCH_ARGS)

# Deploy rehearsal (README "Deploy rehearsal"): the gated stacks of REHEARSE_ENV applied unchanged to the moto
# emulator on loopback through the deploy path of `make deploy` (preflight without its real-account checks, plan,
# plan gate, apply of the saved plan), smoke-checked, planned again for drift, destroyed and checked for leftovers.
# The S3 backend by default, so that encrypted remote state and locking are rehearsed too.
REHEARSE_ENV ?= dev
REHEARSE_BACKEND ?= s3
.PHONY: rehearse
rehearse: compliance
	$(PY) -m tools.rehearse --env $(REHEARSE_ENV) --synth-dir $(SYNTH_DIR) --backend $(REHEARSE_BACKEND) \
		--skip-real-account-checks
