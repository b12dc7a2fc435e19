# The README's commands. `make run` and `make test` each set up everything they need on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := $(PYTHON) -m uv
export UV_COMPILE_BYTECODE := 1
export UV_LINK_MODE := copy
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: setup setup-spark run test ui sample bench bench-providers bench-standards bench-quality bench-merge fuzz clean

setup: .venv/.synced

.venv/.synced: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"
	$(UV) sync --frozen
	@touch $@

# the tests also run the Spark engine: the spark extra (PySpark, SQLGlot; Java 17 comes from Debian)
setup-spark: .venv/.synced-spark

.venv/.synced-spark: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"
	$(UV) sync --frozen --extra spark
	@touch .venv/.synced $@

run: setup
	$(UV) run --frozen --no-sync jilin-pipelines run

test: setup-spark
	$(UV) run --frozen --no-sync pytest

ui: setup
	@mkdir -p "$(DAGSTER_HOME)"; [ -f "$(DAGSTER_HOME)/dagster.yaml" ] || cp dagster.yaml "$(DAGSTER_HOME)/dagster.yaml"
	@# create the instance's storage first: webserver and daemon starting together on a fresh home would race
	$(UV) run --frozen --no-sync dagster instance migrate >/dev/null
	@# the reports (quality, fairness, lineage) at JILIN_REPORTS_URL (http://127.0.0.1:3001), for as long as the UI runs
	.venv/bin/jilin-pipelines reports & reports=$$!; trap 'kill $$reports 2>/dev/null' EXIT INT TERM; \
	$(UV) run --frozen --no-sync dagster dev -h 127.0.0.1 -p 3000 -w workspace.yaml

sample: setup
	rm -rf sample_sources
	$(UV) run --frozen --no-sync jilin-pipelines sample --out sample_sources

# make bench [ROWS=1000000] [DB=sqlite|postgresql]: floor, naive peer and our pipeline on about ROWS records
ROWS ?= 1000000
DB ?= sqlite
bench: setup
	$(UV) run --frozen --no-sync jilin-pipelines bench --rows $(ROWS) --db $(DB) $(if $(DAYS),--days $(DAYS))

# make bench-providers [PROVIDERS=1000]: one day of one dataset from one provider, then from PROVIDERS providers
bench-providers: setup
	$(UV) run --frozen --no-sync jilin-pipelines bench-providers --providers $(or $(PROVIDERS),1000)

bench-standards: setup
	$(UV) run --frozen --no-sync python benchmarks/bench_standards.py

bench-quality: setup
	$(UV) run --frozen --no-sync python benchmarks/bench_quality.py

bench-merge: setup
	$(UV) run --frozen --no-sync python benchmarks/bench_merge.py --db both

fuzz: setup
	$(UV) run --frozen --no-sync python benchmarks/fuzz_readers.py --minutes $(or $(MINUTES),3) $(if $(SEED),--seed $(SEED))

clean:
	rm -rf data .dagster_home
