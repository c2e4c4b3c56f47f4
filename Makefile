# Everything a data engineer needs, in a handful of targets. See README.md.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The project as an Airflow provider (connection types `haravan` and `stocky`): its package
# metadata, built into this checkout, found through PYTHONPATH (devtools/provider_metadata.py).
PROVIDER := inventory_lake.egg-info/entry_points.txt
# Headless Chromium + chromedriver from Debian's packages, for the UI plugin's browser test.
BROWSER_STAMP := /usr/bin/chromedriver
SUDO := $(shell test "$$(id -u)" = 0 || echo sudo)
export PYTHONPATH := $(CURDIR)

.PHONY: run run-distributed postgres-server os-services stop status upload-sample query-facts migrate-lake-to-shops migrate-facts-to-iceberg screenshots test test-faults test-backfills test-approvals test-distributed lint bench clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.txt -r requirements-dev.txt
	touch $(STAMP)

$(PROVIDER): pyproject.toml $(STAMP)
	$(BIN)/python -m devtools.provider_metadata

$(BROWSER_STAMP):
	test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || { $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	  chromium chromium-driver; }

## make run: install, start local S3 + API emulator + PostgreSQL + Airflow standalone, print the UI login
run: $(STAMP) $(PROVIDER) postgres-server
	$(BIN)/python -m devtools.devstack up

# PostgreSQL from Debian's packages: Airflow's metadata DB for `make run` and the tests. It runs
# as one of the stack's own processes, never as a system service.
postgres-server:
	@ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || { \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y --no-install-recommends postgresql; }

# Redis too, for the distributed stack's Celery broker.
os-services: postgres-server
	@test -x /usr/bin/redis-server || { \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y --no-install-recommends redis-server; }

## make run-distributed: the same, on PostgreSQL + Redis + CeleryExecutor with two workers
run-distributed: $(STAMP) $(PROVIDER) os-services
	$(BIN)/python -m devtools.devstack up-distributed

## make stop: end every process `make run` or `make run-distributed` started, by pid
stop:
	@test -x $(BIN)/python && $(BIN)/python -m devtools.devstack down || true

status: $(STAMP) $(PROVIDER)
	$(BIN)/python -m devtools.devstack status

## make upload-sample [FILE=my.csv] [SHOP=<id>]: put a set-adjustment file (default: the shipped sample) in the local lake's approved/ (approved/shop=<id>/ with SHOP; needed with several shops)
upload-sample: $(STAMP)
	$(BIN)/python -m devtools.upload $(if $(SHOP),--shop $(SHOP)) $(FILE)

## make query-facts [DAYS=<n>] [SHOP=<id>]: the local stack's facts table per shop and day (lines, sum of quantity and of cost), queried with DuckDB
query-facts: $(STAMP) $(PROVIDER)
	$(BIN)/python -m devtools.query_facts $(if $(DAYS),--days $(DAYS)) $(if $(SHOP),--shop $(SHOP))

## make migrate-lake-to-shops [SHOP=default] [DRY_RUN=1]: move the local lake's single-shop partitions under shop=<SHOP>/ (contract 2.0; pause the DAGs first)
migrate-lake-to-shops: $(STAMP)
	$(BIN)/python -m devtools.migrate_lake shops_v2 --shop $(or $(SHOP),default) $(if $(DRY_RUN),--dry-run)

## make migrate-facts-to-iceberg [DRY_RUN=1]: rewrite the local lake's 2.0 facts partitions into the Iceberg table (contract 3.0; resumable, the stack running)
migrate-facts-to-iceberg: $(STAMP)
	$(BIN)/python -m devtools.migrate_lake facts_iceberg $(if $(DRY_RUN),--dry-run)

## make screenshots: the README's first ten minutes on a throwaway stack, photographed into docs/images/
screenshots: $(STAMP) $(BROWSER_STAMP) postgres-server
	$(BIN)/python -m devtools.screenshots

## make test: the whole test suite against real local servers (what CI runs)
test: $(STAMP) $(PROVIDER) $(BROWSER_STAMP) postgres-server
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest --durations=25

## make test-faults: only the fault suite, the facts killed -9 at all four points (make test: two of them)
test-faults: $(STAMP) $(PROVIDER) postgres-server
	INVENTORY_LAKE_ALL_KILL_POINTS=1 $(BIN)/python -m pytest -n 0 -m faults

## make test-backfills: 20 UI backfills in a row, each right after unpausing (make test runs 3), and the scheduler backfill in small
test-backfills: $(STAMP) $(PROVIDER) postgres-server
	INVENTORY_LAKE_BACKFILL_REPEATS=20 $(BIN)/python -m pytest -m 'not distributed' tests/dags/test_backfill_from_the_ui.py tests/dags/test_backfill_from_scheduler_shops.py

## make test-approvals: 20 push approvals in a row, each answered the moment it is asked (make test runs 3)
test-approvals: $(STAMP) $(PROVIDER) postgres-server
	INVENTORY_LAKE_APPROVAL_REPEATS=20 $(BIN)/python -m pytest tests/dags/test_alerts_on_standalone.py -k given_at_once

## make test-distributed: extract -> facts -> push on the distributed stack (not in make test)
test-distributed: $(STAMP) $(PROVIDER) os-services
	$(BIN)/python -m pytest -m distributed tests/distributed

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m mypy

## make bench: benchmarks, printing one JSON object per figure (not run by CI)
bench: $(STAMP)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements-bench.txt
	$(BIN)/python -m tests.bench

## make requirements: re-resolve the exact pins from requirements*.in
requirements:
	$(BIN)/uv pip compile --quiet --python-version 3.11 requirements.in -o requirements.txt
	$(BIN)/uv pip compile --quiet --python-version 3.11 requirements-dev.in -o requirements-dev.txt
	$(BIN)/uv pip compile --quiet --python-version 3.11 requirements-bench.in -o requirements-bench.txt

clean: stop
	rm -rf .local $(VENV) inventory_lake.egg-info
