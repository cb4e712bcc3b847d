# Two commands: `make run` starts the whole product locally, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CHROMIUM ?= /usr/bin/chromium
export CHROMIUM

.PHONY: run test test-fast bench lighthouse screenshots chromium clean

$(BIN)/activate:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Komet needs Python 3.11 or newer (found " + sys.version.split()[0] + "); set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

run: $(VENV)/.installed
	$(BIN)/python -m workers.devstack

test: $(VENV)/.installed chromium
	$(BIN)/pytest $(PYTEST_ARGS)

# Without the browser tests, for a quick loop while editing.
test-fast: $(VENV)/.installed
	$(BIN)/pytest -m "not browser" $(PYTEST_ARGS)

# Speed of the buyer's shop page, Message History, Setup > Users and the public invite page
# against a one-query floor, and Register Here under its rate limit.
# Needs PostgreSQL (BENCH_DATABASE_URL, default the local one), Redis and wrk.
bench: $(VENV)/.installed
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk >/dev/null; } || \
	  { echo "make bench needs wrk: sudo apt-get install wrk"; exit 1; }
	$(BIN)/python -m bench.messages_bench
	$(BIN)/python -m bench.users_bench
	$(BIN)/python -m bench.invites_bench

# Lighthouse's performance score (mobile preset) and the bytes a phone downloads, for the buyer's
# shop page and Message History. Installs Lighthouse with npm into .lighthouse/ the first time.
LIGHTHOUSE_VERSION := 13.5.0
lighthouse: $(VENV)/.installed chromium
	@command -v npm >/dev/null || { echo "make lighthouse needs Node.js and npm: sudo apt-get install nodejs npm"; exit 1; }
	@[ -x .lighthouse/node_modules/.bin/lighthouse ] || \
	  npm install --silent --no-fund --no-audit --no-package-lock --prefix .lighthouse lighthouse@$(LIGHTHOUSE_VERSION)
	$(BIN)/python -m bench.lighthouse

# Re-take the README's screenshots (the browser tests save them to docs/screenshots).
screenshots: $(VENV)/.installed chromium
	@fc-list | grep -qi emoji || [ "$$(id -u)" != 0 ] || apt-get install -y -qq fonts-noto-color-emoji >/dev/null
	UPDATE_SCREENSHOTS=1 $(BIN)/pytest -m browser $(PYTEST_ARGS)

chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's chromium for the browser tests..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "The browser tests need Chromium at $(CHROMIUM)."; \
	    echo "Install it with: sudo apt-get install chromium   (Debian/Ubuntu)"; \
	    echo "or point CHROMIUM=/path/to/chromium at one you have."; \
	    exit 1; \
	  fi; \
	fi

clean:
	rm -rf $(VENV) instance .pytest_cache .lighthouse
