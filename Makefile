# swarmbench: the README's commands.
#   make bench   rerun the benchmark's matrix on this machine (quick profile)
#   make test    everything CI runs: lint, unit, integration and cluster tests
#   make unit    the unit tests alone, for the edit-test loop
# Both install what they need on a fresh Debian machine as root.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
# rustup and the Go tarball install outside Debian's PATH (TOOL_PATHS= leaves them out).
TOOL_PATHS ?= $(HOME)/.cargo/bin:/usr/local/go/bin
export PATH := $(if $(TOOL_PATHS),$(TOOL_PATHS):)$(PATH)

# The venv's Python is Debian's, not one under /root: the namespaced test hosts each get a
# private /root and must still run the controller's interpreter.
PYTHON ?= /usr/bin/python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# systemd: two of the cluster tests' hosts boot it (never this machine's own init).
# python3-uvicorn serves deploy/examples' ASGI app, the user's own server of the tests.
# gnupg, dpkg-dev and python3-debian: the install-path test builds a signed local apt repository
# (python3-debian rebuilt from its installed files) for a fresh test host.
# nftables: the playbook's firewall, on the cluster tests' hosts (they share this /usr).
DEBIAN_PACKAGES := python3-venv python3-dev wrk apache2-utils prometheus \
	prometheus-node-exporter openssh-server iproute2 util-linux chromium procps systemd \
	python3-uvicorn gnupg dpkg-dev python3-debian curl nftables
# Debian starts the services of some of these on every address: make stops and disables those
# it installed itself (deploy/quiet-services.sh); KEEP_SERVICES=1 leaves them running.
KEEP_SERVICES ?= 0

PYTEST_ARGS ?=

.PHONY: help bench test unit lint system-deps venv toolchains targets clean

help:
	@echo "make bench   run the benchmark matrix locally (quick profile)"
	@echo "make test    lint and run the whole test suite"
	@echo "make unit    the unit tests only (seconds): the edit-test loop"

system-deps:
	@if [ ! -r /etc/debian_version ]; then \
	  echo "swarmbench: automatic installs need Debian; install by hand: $(DEBIAN_PACKAGES)"; \
	  exit 2; fi
	@missing=$$(for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "swarmbench: missing Debian packages (run as root, or: sudo apt-get install $$missing)"; \
	    exit 2; fi; \
	  echo "Installing Debian packages: $$missing"; \
	  apt-get update -q; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	  KEEP_SERVICES=$(KEEP_SERVICES) deploy/quiet-services.sh $$missing; \
	fi

# Rust and Node.js: where missing, Debian's own (bookworm: rustc-web/cargo-web 1.96, nodejs).
# Go: Debian 12's golang-go (1.19) is too old for gin, so a missing go is named, not installed.
toolchains:
	@missing=""; \
	command -v cargo >/dev/null || missing="$$missing cargo-web"; \
	command -v node >/dev/null || missing="$$missing nodejs"; \
	if [ -n "$$missing" ]; then \
	  if [ ! -r /etc/debian_version ] || [ "$$(id -u)" != 0 ]; then \
	    echo "swarmbench: missing toolchains; as root on Debian: apt-get install$$missing (or rustup.rs for Rust, nodejs.org for Node.js)"; \
	    exit 2; fi; \
	  echo "Installing Debian's toolchains:$$missing"; \
	  apt-get update -q; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi
	@command -v go >/dev/null || { echo "swarmbench: go not found; install Go >= 1.22 (https://go.dev/dl, unpacked in /usr/local/go) or golang-go from bookworm-backports"; exit 2; }

$(STAMP): pyproject.toml | system-deps
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

venv: system-deps $(STAMP)

targets: venv toolchains
	$(BIN)/swarmbench targets build

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy swarmbench collectors
	@# import-linter reads the package's folder; collectors/ installs as swarmbench.collectors,
	@# so the layers are checked on a copy that has it where it is imported from.
	@rm -rf build/import-layers && mkdir -p build/import-layers
	@cp -r swarmbench build/import-layers/ && cp -r collectors build/import-layers/swarmbench/
	cd build/import-layers && PYTHONPATH=. $(CURDIR)/$(BIN)/lint-imports $(CURDIR)/pyproject.toml

unit: venv
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit $(PYTEST_ARGS)

test: venv toolchains targets lint
	@# -rs lists every skip; --no-unexpected-skips fails the run on one this machine should not
	@# have (tests/conftest.py ALLOWED_SKIPS): a missing sshd or chromium is a broken set-up.
	$(BIN)/python -m pytest -q -p no:cacheprovider -rs --no-unexpected-skips $(PYTEST_ARGS)

bench: venv toolchains targets
	$(BIN)/swarmbench bench --profile quick

clean:
	rm -rf $(VENV) build dist *.egg-info
