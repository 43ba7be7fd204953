# Everything a fresh Debian 12 machine (root, Python 3.11) needs: `make demo` and `make test` set it up.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
APT := DEBIAN_FRONTEND=noninteractive apt-get

LOCK_VENV := /tmp/farmwatch-lock-venv

.PHONY: demo test lint typecheck unit bench bench-quick bench-deps system-deps clean fuzz soak constraints

# constraints.txt pins every package (and pip, and the setuptools that builds the wheel) to the versions CI and
# the image use: `make constraints` rewrites it from a fresh venv (README "Reproducible installs").
CONSTRAINTS := $(CURDIR)/constraints.txt
PIP_PINNED := -c $(CONSTRAINTS)

$(STAMP): pyproject.toml constraints.txt
	@python3 -c 'import ensurepip, venv' 2>/dev/null || { $(APT) update -qq && $(APT) install -y -qq python3-venv; }
	@test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q $(PIP_PINNED) pip setuptools
	$(BIN)/python -m pip install -q $(PIP_PINNED) --build-constraint $(CONSTRAINTS) -e '.[dev]'
	@touch $@

# Newest versions that satisfy pyproject.toml, resolved in a throwaway venv; review the diff, then `make test`.
constraints:
	@rm -rf $(LOCK_VENV) && python3 -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install -q --upgrade pip
	$(LOCK_VENV)/bin/python -m pip install -q '.[dev]' $$($(LOCK_VENV)/bin/python -c 'import tomllib; print(" ".join(map(repr, tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"])))')
	{ sed -n '/^#/p' constraints.txt; $(LOCK_VENV)/bin/python -m pip freeze --all --exclude farmwatch; } > constraints.txt.new
	mv constraints.txt.new constraints.txt && rm -rf $(LOCK_VENV)

# Test-only Debian packages: a real Prometheus and promtool for exposition, rules and integration tests,
# amtool (prometheus-alertmanager) to check the example Alertmanager config, and headless Chromium for the floor
# view's browser tests (tests/integration/test_floor_browser.py); curl and jq, which the docs' examples use
# (tests/integration/test_docs_walk.py runs them as written).
system-deps:
	@command -v promtool >/dev/null && command -v prometheus >/dev/null && command -v amtool >/dev/null \
	  && command -v chromium >/dev/null && command -v curl >/dev/null && command -v jq >/dev/null || \
	  { $(APT) update -qq && $(APT) install -y -qq --no-install-recommends prometheus prometheus-alertmanager chromium \
	    curl jq; }

demo: $(STAMP)
	$(BIN)/farmwatch demo

lint: $(STAMP)
	$(BIN)/ruff check agent collectors simsite tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q

test: $(STAMP) system-deps lint typecheck unit

# What `make bench` measures farmwatch against: net-snmp's tools (snmpbulkwalk) and Prometheus's snmp_exporter
# (Debian), and pyasic / pyasic-rs in a throwaway venv (bench/.venv-peers, never project dependencies; pinned to
# the versions the README quotes). snmpsim, which serves the PDUs, comes with the dev extra in .venv.
PEERS_VENV := bench/.venv-peers
bench-deps: $(STAMP)
	@command -v snmpbulkwalk >/dev/null && command -v snmpget >/dev/null && command -v prometheus-snmp-exporter >/dev/null \
	  || { $(APT) update -qq && $(APT) install -y -qq --no-install-recommends snmp prometheus-snmp-exporter; }
	@test -x $(PEERS_VENV)/bin/python || python3 -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/python -m pip install -q pyasic==0.79.0 pyasic-rs==0.8.6

# Every number of the README's "Performance" section from one run (bench/all.py; ~35 min on 2 cores, on a quiet
# machine); bench-quick runs every part at small scale.
bench: $(STAMP) bench-deps
	$(BIN)/python bench/all.py

bench-quick: $(STAMP) bench-deps
	$(BIN)/python bench/all.py --quick

# Long fuzzing: the hypothesis properties with 20,000 examples each, then every atheris (libFuzzer) target for
# FUZZ_SECONDS (tests/support/fuzz_atheris.py). `make test` runs the same properties with a small example count.
FUZZ_SECONDS ?= 120
fuzz: $(STAMP)
	FARMWATCH_FUZZ_EXAMPLES=20000 $(BIN)/pytest -q tests/asic/test_fuzz_parsers.py tests/snmp/test_fuzz_snmp.py
	$(BIN)/python -m tests.support.fuzz_atheris all $(FUZZ_SECONDS)

# One hour of the agent against the simulated site with churn, DHCP moves, reboots and config reloads (tests/support/soak.py);
# `make test` runs a 40-second version (tests/integration/test_soak.py).
SOAK_SECONDS ?= 3600
soak: $(STAMP)
	$(BIN)/python -m tests.support.soak --duration $(SOAK_SECONDS) --json /tmp/farmwatch-soak.json

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
