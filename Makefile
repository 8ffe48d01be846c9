# GlobalPay infrastructure: the two commands of the README, and what they need.
#   make synth   install (first run) and synthesize every workspace of prod into cdktf.out/
#   make test    install (first run), synthesize, run pytest (which runs checkov over every stack)
SHELL := /bin/bash
PYTHON ?= python3
PIPENV_VERSION := 2026.10.3
export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_VERBOSITY := -1
export PIPENV_NOSPIN := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CHECKPOINT_DISABLE := 1

VENV := .venv
CHECKOV_VENV := .venv-checkov
ENV ?= prod

.PHONY: synth test install benchmark checkov diagram cost clean

synth: install
	$(VENV)/bin/python main.py --env $(ENV)

test: install
	$(VENV)/bin/python -m pytest -q

checkov: synth
	$(VENV)/bin/python scripts/checkov.py cdktf.out

benchmark: install
	$(VENV)/bin/python scripts/benchmark.py

install: $(VENV)/.synced $(CHECKOV_VENV)/.synced node_modules/.synced

# Python dependencies, exactly as locked (Pipfile.lock).
$(VENV)/.synced: Pipfile Pipfile.lock
	@command -v pipenv >/dev/null 2>&1 && pipenv --version | grep -q $(PIPENV_VERSION) || $(PYTHON) -m pip install --quiet "pipenv==$(PIPENV_VERSION)"
	$(PYTHON) -m pipenv sync --dev
	@touch $@

# checkov lives in its own virtual environment: its pins would clash with the cdktf/jsii ones.
$(CHECKOV_VENV)/.synced: checkov/requirements.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r checkov/requirements.txt
	@touch $@

# The cdktf CLI, pinned by package-lock.json (cdktf synth / diff / deploy run this app).
node_modules/.synced: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

clean:
	rm -rf cdktf.out .cdktf.out.*
