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

.PHONY: help setup compile lint typecheck test demo gas bench deploy clean

help:
	@echo "make demo   set everything up, start the devnet, deploy, run every system's flow, print gas"
	@echo "make test   set everything up and run lint, type checks and all tests"
	@echo "steps: setup compile lint typecheck gas bench deploy clean"

# --- setup -------------------------------------------------------------------------------------
$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -r requirements.lock
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

# Every benchmark; each system adds its own `bench-<system>` target and lists it here.
bench: compile
	$(BIN)/metatrust bench platform
	$(MAKE) bench-outsourcing

bench-web3compute-onion: setup
	$(BIN)/metatrust bench web3compute-onion

# RSMS (seed 002) reliability study, Figs. 5-7 (the integrator folds it into bench-resource-auth).
.PHONY: bench-resource-auth-reliability
bench-resource-auth-reliability: setup
	$(BIN)/metatrust bench resource-auth-reliability

# Meta-BMEOC (seed 000) evaluation: Figs. 4-6, baselines, trends, targets (reports/outsourcing/), on the
# wall clock (the paper's metric), then the same grid on CPU time (reports/outsourcing/cpu/, load-robust).
.PHONY: bench-outsourcing
bench-outsourcing: setup
	$(BIN)/metatrust bench outsourcing
	$(BIN)/metatrust bench outsourcing --clock cpu --out reports/outsourcing/cpu

clean:
	rm -rf .build contracts/.cache .tools $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
