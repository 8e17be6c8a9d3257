# Quickstart: `make run` starts the local server, `make test` installs what the tests need and runs them.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
E2E := tests/e2e
NODE_INSTALLED := $(E2E)/node_modules/.installed

.PHONY: run test install clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(NODE_INSTALLED): $(E2E)/package.json $(E2E)/package-lock.json
	cd $(E2E) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(INSTALLED) $(NODE_INSTALLED)

run: $(INSTALLED)
	$(PY) localserver.py

test: $(INSTALLED) $(NODE_INSTALLED)
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) $(E2E)/node_modules .pytest_cache
