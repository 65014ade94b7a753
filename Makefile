# Two commands on a fresh clone: `make demo` and `make test`. Both set up .venv/ first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TOOLS_STAMP := node_modules/.installed

CHROMIUM := /usr/bin/chromium

.PHONY: demo test lint protos buf-lint clean browser tshark mosquitto systemd

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

# The dashboard's browser test drives Debian's chromium through Playwright (never Playwright's own
# browser download). Installed with apt-get when missing and we are root; otherwise the test skips
# and says why.
browser:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for the dashboard's browser test"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	else \
		echo "note: $(CHROMIUM) is missing and this is not root: the dashboard's browser test will" \
			"be skipped (install it with: sudo apt-get install chromium)"; \
	fi

# The ITS messages' test decodes our SPATEM/MAPEM captures with Debian's tshark (Wireshark's own
# dissectors). Installed with apt-get when missing and we are root; otherwise that test skips.
tshark:
	@if command -v tshark >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's tshark for the ITS messages' test"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y tshark; \
	else \
		echo "note: tshark is missing and this is not root: the ITS messages' test will be" \
			"skipped (install it with: sudo apt-get install tshark)"; \
	fi

# The broker security tests run deploy/mosquitto's configuration (TLS, client certificates, ACL)
# on Debian's Mosquitto. Installed with apt-get when missing and we are root; otherwise they skip.
mosquitto:
	@if command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's mosquitto for the broker security tests"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y mosquitto; \
	else \
		echo "note: mosquitto is missing and this is not root: the broker security tests will be" \
			"skipped (install it with: sudo apt-get install mosquitto)"; \
	fi

# The deployment tests check deploy/systemd's units with Debian's systemd-analyze (package
# systemd). Installed with apt-get when missing and we are root; otherwise that test skips.
systemd:
	@if command -v systemd-analyze >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's systemd (systemd-analyze) for the deployment tests"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y systemd; \
	else \
		echo "note: systemd-analyze is missing and this is not root: the systemd unit check will" \
			"be skipped (install it with: sudo apt-get install systemd)"; \
	fi

demo: $(STAMP) browser
	$(BIN)/vicoop demo $(ARGS)

test: $(STAMP) $(TOOLS_STAMP) browser tshark mosquitto systemd
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP) $(TOOLS_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	node_modules/.bin/buf lint

protos: $(STAMP)
	$(BIN)/python -m protos.generate

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
