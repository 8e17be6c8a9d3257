# Quickstart: `make run` starts the local server, `make test` installs what the tests need and runs them.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
E2E := tests/e2e
NODE_INSTALLED := $(E2E)/node_modules/.installed
# Build tools for `make package`, also needed by the packaging test.
PACKAGE_INSTALLED := $(VENV)/.package-installed
PYODIDE_INSTALLED := scripts/node_modules/.installed

.PHONY: run test install clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): requirements.txt requirements-dev.txt client/pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e client/
	touch $@

# The dashboard's browser tests drive Debian's chromium (Playwright never downloads a browser here).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

$(NODE_INSTALLED): $(E2E)/package.json $(E2E)/package-lock.json
	cd $(E2E) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(INSTALLED) $(CHROMIUM) $(NODE_INSTALLED) $(PACKAGE_INSTALLED) $(PYODIDE_INSTALLED)

run: $(INSTALLED)
	$(PY) localserver.py

test: install
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) $(E2E)/node_modules scripts/node_modules .pytest_cache dist vendor

# `make package`: dist/sam.json (one CloudFormation template) + dist/deployment.zip for Lambda
# python3.13; see docs/deploy.md. Build tools: requirements-package.txt, scripts/package.json.
$(PACKAGE_INSTALLED): requirements-package.txt $(INSTALLED)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-package.txt
	touch $@

$(PYODIDE_INSTALLED): scripts/package.json scripts/package-lock.json
	cd scripts && npm ci --no-audit --no-fund --loglevel=error
	touch $@

.PHONY: package
package: $(PACKAGE_INSTALLED) $(PYODIDE_INSTALLED)
	$(PY) scripts/package.py --out dist

# `make deploy STAGE=prod`: package, then create or update the stack rokka-clone-$(STAGE) with boto3
# (scripts/deploy.py; AWS_PROFILE / AWS_REGION as usual) and print the API URL and the render host.
# DEPLOY_ARGS passes more, e.g. DEPLOY_ARGS="--param RenderDomain=images.example.com".
# `make destroy STAGE=prod` removes the stack but keeps the sources bucket, the data tables and the
# pepper secret; DELETE_DATA=1 deletes them too. See docs/deploy.md.
STAGE ?= dev
DEPLOY_ARGS ?=

.PHONY: deploy destroy outputs
deploy: package
	$(PY) scripts/deploy.py deploy --stage $(STAGE) --no-build $(DEPLOY_ARGS)

outputs: $(INSTALLED)
	$(PY) scripts/deploy.py outputs --stage $(STAGE)

destroy: $(INSTALLED)
	$(PY) scripts/deploy.py destroy --stage $(STAGE) $(if $(filter 1 true yes,$(DELETE_DATA)),--delete-data)

# `make fuzz`: the fuzz tests with FUZZ_EXAMPLES (default 25) times the examples of `make test`;
# prints the inputs tried per target and writes them to FUZZ_FIGURES. FUZZ_TESTS picks the files
# (add tests/security/test_schemathesis.py for the OpenAPI run too). See docs/reliability.md.
FUZZ_EXAMPLES ?= 25
FUZZ_TESTS ?= tests/security/test_fuzz.py
FUZZ_FIGURES ?= $(VENV)/fuzz-figures.json

.PHONY: fuzz
fuzz: $(INSTALLED)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) SECURITY_FIGURES_JSON=$(FUZZ_FIGURES) $(PY) -m pytest -q $(FUZZ_TESTS)

# `make bench`: renderer performance against plain Pillow and libvips (pyvips), see
# docs/performance.md. BENCH_ROUNDS (default 7), BENCH_OUT (default bench/results.json),
# BENCH_STRICT=1 fails on a missed target. Bench-only tools: requirements-bench.txt,
# requirements-bench-thumbor.txt (throughput reference, own virtualenv).
BENCH_INSTALLED := $(VENV)/.bench-installed

# thumbor (the throughput reference) gets its own virtualenv: it pins Pillow < 13.
THUMBOR_INSTALLED := bench/.work/thumbor-venv/.installed

$(BENCH_INSTALLED): requirements-bench.txt $(INSTALLED)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	touch $@

$(THUMBOR_INSTALLED): requirements-bench-thumbor.txt
	$(PY) -m venv $(dir $@)
	$(dir $@)bin/python -m pip install --quiet --disable-pip-version-check -r requirements-bench-thumbor.txt
	touch $@

.PHONY: bench
bench: $(BENCH_INSTALLED) $(THUMBOR_INSTALLED)
	$(PY) -m bench.run
