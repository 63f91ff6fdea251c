# Thin entry points (SPEC §3): every target delegates to a script in scripts/ or tests/, which
# load an untracked .env when present (variables already in the environment win).
#
#   make dev         deps + build + local stack + dashboard in the foreground; Ctrl-C stops all
#   make test        deps + build + unit (CTest) + integration/e2e suites; .ci/run calls this
#   make up|down|status   the same stack in the background (builds and serves the dashboard) / stop it / show it
#   make build       cmake configure + build into build/ (binaries in build/bin)
#   make bench | test-load | test-chaos   benchmarks / seed load scenario / chaos with ground truth
#   make audit       npm audit of the dashboard's runtime dependencies (needs the registry's advisory endpoint)
#   make clean       stop every stack under .data/, remove build/ and .data/

SHELL := /bin/bash

.PHONY: help deps build dev up down status env test bench test-load test-chaos audit clean

help:
	@sed -n 's/^#   //p' Makefile

deps:
	@bash scripts/deps.sh

build:
	@bash scripts/build.sh

dev:
	@bash scripts/dev.sh

up:
	@bash scripts/up.sh

down:
	@bash scripts/stack.sh down

status:
	@bash scripts/stack.sh status || [ $$? -eq 3 ]

env:
	@bash scripts/stack.sh env

test:
	@bash scripts/test.sh

bench:
	@bash scripts/optional.sh bench bench/run.sh

# test-load: seed scenario (1000 req/s ingest + query mix, 5 min; LOAD_RATE, LOAD_DURATION), p95s
# asserted against the seed's targets. test-chaos: 1M events under faults (CHAOS_EVENTS, ...).
test-load:
	@LOAD_ENFORCE=$${LOAD_ENFORCE:-1} bash tests/load/run.sh

test-chaos:
	@bash tests/chaos/run.sh

audit:
	@bash tests/audit/web_audit.sh

clean:
	@bash scripts/clean.sh
