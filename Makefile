# Vidnova — `make run` starts the embedded stack, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint fmt schemas clean bench fuzz chaos

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/vidnova up

# The whole suite on the infrastructure SPEC §8 picks (PostgreSQL here), then the integration tests
# again on SQLite files: the embedded default's database and its own driver (shared/sqlite_driver.py).
test: $(STAMP) lint
	$(BIN)/python -m pytest
	TEST_DATABASE_URL=sqlite+aiosqlite:// $(BIN)/python -m pytest -q tests/integration

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Benchmarks, never timed tests: `make bench BENCH_ARGS=--quick` for the two-minute version.
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

# Seeded faults against `vidnova up` (service and broker kills, replays, two allocation instances),
# each run ending in a history check; `make chaos CHAOS_ARGS="--runs 3"` for fewer. Not timed tests.
chaos: $(STAMP)
	$(BIN)/python -m bench.chaos $(CHAOS_ARGS)

# The schemathesis runs of the suite with many more examples per operation.
fuzz: $(STAMP)
	VIDNOVA_FUZZ_EXAMPLES=500 $(BIN)/python -m pytest tests/integration -k api_fuzz

schemas: $(STAMP)
	$(BIN)/vidnova schemas

clean:
	rm -rf $(VENV) .vidnova .pytest_cache .mypy_cache .ruff_cache
