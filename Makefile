# Two commands on a fresh clone: `make demo` and `make test`. Both set up .venv/ first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TOOLS_STAMP := node_modules/.installed

.PHONY: demo test lint protos buf-lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("vicoop needs Python >= 3.11, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[all,dev]'
	touch $(STAMP)

# buf (the protobuf linter) comes from the npm registry, at the exact version package.json pins
# (no lock file: npm's lock omits the other platforms' optional binaries, and `npm ci` then fails).
$(TOOLS_STAMP): package.json
	npm install --no-package-lock --no-audit --no-fund --loglevel=error
	touch $(TOOLS_STAMP)

demo: $(STAMP)
	$(BIN)/vicoop demo $(ARGS)

test: $(STAMP) $(TOOLS_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP) $(TOOLS_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	node_modules/.bin/buf lint

protos: $(STAMP)
	$(BIN)/python -m protos.generate

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
