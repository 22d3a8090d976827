# metatrust: the two commands of the README are `make demo` and `make test`; everything else is a step.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/.tools/bin:$(CURDIR)/$(BIN):$(PATH)
export SOLCX_BINARY_PATH := $(CURDIR)/.tools/solcx
export PYTHONUNBUFFERED := 1

APE := $(BIN)/ape
NETWORK ?= ethereum:local:foundry
# every benchmark target (each writes under reports/<system>/); `make bench` runs them all
BENCHES := bench-platform bench-outsourcing bench-modexp bench-resource-auth bench-web3compute bench-storage

.PHONY: help setup compile lint typecheck test demo gas bench $(BENCHES) deploy clean

help:
	@echo "make demo   set everything up, start the devnet, deploy, run every system's flow, print gas"
	@echo "make test   set everything up and run lint, type checks and all tests"
	@echo "steps: setup compile lint typecheck gas bench ($(BENCHES)) deploy clean"

# --- setup -------------------------------------------------------------------------------------
$(VENV)/.installed: requirements.lock requirements-nodeps.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-nodeps.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

# `npm install` rather than `npm ci`: the lock pins every version, but it can only list the anvil
# sub-package of platforms the registry serves, and `npm ci` rejects a lock without the others.
node_modules/.installed: package.json package-lock.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

.tools/.installed: $(VENV)/.installed node_modules/.installed tools/setup_toolchain.py tools/solc/solc.cjs
	$(BIN)/python tools/setup_toolchain.py
	touch $@

setup: .tools/.installed

# Full rebuild whenever any contract changed: ape-solidity recompiles an edited file but not the contracts
# that import it, which would leave stale bytecode behind a changed library.
CONTRACT_SOURCES := $(shell find contracts -name '*.sol' -not -path 'contracts/.cache/*')
.build/__local__.json: $(CONTRACT_SOURCES) ape-config.yaml .tools/.installed
	$(APE) compile --force

compile: setup .build/__local__.json

# --- checks ------------------------------------------------------------------------------------
lint: setup
	$(BIN)/ruff check offchain scripts tests tools
	$(BIN)/ruff format --check offchain scripts tests tools

typecheck: setup
	$(BIN)/mypy

test: lint typecheck compile
	METATRUST_GAS_CHECK=1 $(APE) test tests

# --- the main job ------------------------------------------------------------------------------
demo: compile
	$(APE) run demo --network $(NETWORK)

deploy: compile
	$(APE) run deploy --network $(NETWORK)

gas: compile
	METATRUST_GAS_REPORT=reports/gas $(APE) test tests

# --- benchmarks: commands that write CSV, Markdown and PNG under reports/<system>/ ----------------
bench: $(BENCHES)

bench-platform: compile
	$(BIN)/metatrust bench platform

# MExpm (seed 003): time per phase, Verify gas, checkability trials, attacks faithful vs hardened.
bench-modexp: compile
	$(BIN)/metatrust bench modexp

# RSMS (seed 002): Table II/III and per-protocol costs, then the reliability study (Figs. 5-7).
bench-resource-auth: setup
	$(BIN)/metatrust bench resource-auth
	$(BIN)/metatrust bench resource-auth-reliability

# Web3 data computing (seed 004): channel updates and gas, onion routing (Figs. 5a/5b), FedAvg in sandboxes.
bench-web3compute: compile
	$(BIN)/metatrust bench web3compute-channel
	$(BIN)/metatrust bench web3compute-onion
	$(BIN)/metatrust bench web3compute-fl

# MetaAICM storage (seed 001 Table 4.2): upload/download on the embedded IPFS-compatible store.
bench-storage: setup
	$(BIN)/metatrust bench storage

# Meta-BMEOC (seed 000) evaluation: Figs. 4-6, baselines, trends, targets (reports/outsourcing/), on the
# wall clock (the paper's metric), then the same grid on CPU time (reports/outsourcing/cpu/, load-robust).
bench-outsourcing: setup
	$(BIN)/metatrust bench outsourcing
	$(BIN)/metatrust bench outsourcing --clock cpu --out reports/outsourcing/cpu

clean:
	rm -rf .build contracts/.cache .tools $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
