# The words people use: run, test, unit, integration, e2e, lint, bench, validate.
# Every target bootstraps the environment first (uv, then `uv sync`), so each works on a fresh clone.
# The environment is byte-compiled once (12 s the first time, 0.5 s after): where PYTHONDONTWRITEBYTECODE
# is set, as on CI machines, every process would otherwise compile each module it imports from source
# (4 s of Great Expectations alone in each Dagster run process; the daemon test 74 s -> 52 s).

UV ?= $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
RUN = $(UV) run --frozen


.PHONY: setup run ui validate test unit integration e2e reliability scale s3 fuzz lint format bench clean

setup:
	@python3 -m uv --version >/dev/null 2>&1 || command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@java -version >/dev/null 2>&1 || { echo "Java 17+ is required for Spark (e.g. apt-get install openjdk-17-jre-headless)"; exit 1; }
	$(UV) sync --frozen --quiet --compile-bytecode
	@$(RUN) python -m compileall -q -j 0 platform/src governance/src orchestration/src >/dev/null

## The main job on the embedded default: validate the specs, then materialize the whole sample mesh
## through Dagster (lineage to the state folder, or to OPENLINEAGE_URL when set).
run: setup
	$(RUN) meshlake validate
	$(RUN) meshlake run

## The Dagster UI on http://127.0.0.1:3000, one code location per landing zone.
ui: setup
	$(RUN) meshlake ui

validate: setup
	$(RUN) meshlake validate

## The whole test suite (unit, integration, e2e), then how long it took (it should stay under 15 min
## on 2 cores). PostgreSQL: MESHLAKE_TEST_POSTGRES_URL, or a throwaway server the run starts itself.
## TEST_WORKERS processes (pytest-xdist; a file's tests stay in one process, with its own Spark
## session): most tests wait on HTTP, a database or the JVM, so two share two cores well. Files are
## handed out in collection order (tests/conftest.py puts the long ones first: xdist's default puts
## files with few tests, such as a cluster's, last); the 20 slowest are listed at the end.
TEST_WORKERS ?= 2
test: setup lint
	@start=$$(date +%s); $(RUN) pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=20; status=$$?; took=$$(( $$(date +%s) - start )); \
	echo "make test: the suite took $$(( took / 60 ))m $$(( took % 60 ))s"; exit $$status

unit: setup
	$(RUN) pytest -m unit

integration: setup
	$(RUN) pytest -m integration

e2e: setup
	$(RUN) pytest -m e2e

## Long trials in full (the suite runs a small sample of each): kill -9 a publication 20 times;
## `make fuzz` is the other one: the governance API against its OpenAPI.
reliability: setup
	MESHLAKE_CRASH_TRIALS=20 $(RUN) pytest -q --timeout 3600 tests/reliability

## The small mesh on a local S3 server in full: the suite runs it without the vacuum case (cost).
s3: setup
	MESHLAKE_S3_TRIAL=full $(RUN) pytest -q tests/scale/test_s3_storage.py

## The scale-out trials in full, alone (the suite runs a sample: Spark Connect without the
## standalone cluster, S3 without Spark and vacuum): compute per zone (standalone cluster, Spark
## Connect), S3 on moto, the Dagster daemon on PostgreSQL, governance with several workers.
scale: setup
	MESHLAKE_S3_TRIAL=full MESHLAKE_SCALE_TRIAL=full $(RUN) pytest -q -m scale --durations=10

## Schemathesis over the governance API's whole OpenAPI, on SQLite and on PostgreSQL (when
## MESHLAKE_TEST_POSTGRES_URL is set): MESHLAKE_FUZZ_CASES per operation and generation mode
## (100 here, about 4,000 cases per database; the suite runs 5).
fuzz: setup
	MESHLAKE_FUZZ_CASES=$${MESHLAKE_FUZZ_CASES:-100} $(RUN) pytest -q -s -p no:cacheprovider tests/governance/test_fuzz.py

lint: setup
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy platform/src governance/src orchestration/src

format: setup
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

bench: setup
	@ls benchmarks/*.py >/dev/null 2>&1 || { echo "no benchmarks yet"; exit 0; }
	@for script in benchmarks/*.py; do echo "== $$script"; $(RUN) python $$script || exit 1; done

## One benchmark: the governed SQL aggregate against plain DuckDB (benchmarks/governed_query.py).
.PHONY: bench-query
bench-query: setup
	$(RUN) python benchmarks/governed_query.py

.PHONY: bench-sharing
bench-sharing: setup  ## the Delta Sharing server: client read and masked snapshot build, 1M rows
	$(RUN) python benchmarks/delta_sharing_server.py

.PHONY: bench-engines
bench-engines: setup  ## sales.orders end to end on DuckDB against Spark local at 100k and 1M orders (>= 10x)
	$(RUN) python benchmarks/engine_speed.py

.PHONY: bench-realistic-budget
bench-realistic-budget: setup  ## checks of sales.orders (join + window) on Spark at 5M orders (<= 1.15x), pass-through beside
	$(RUN) python benchmarks/realistic_budget.py

.PHONY: bench-large-mesh
bench-large-mesh: setup  ## 1,000 products in 10 zones: validate, Dagster definitions, catalog sync, search p99 at 1M datasets
	$(RUN) python benchmarks/large_mesh.py

.PHONY: bench-duck-quality
bench-duck-quality: setup  ## checks on DuckDB against the pass-through product without them (<= 1.25)
	$(RUN) python benchmarks/duck_quality_budget.py

clean:
	rm -rf .meshlake
