# zhijian — the two set-up commands a newcomer needs are `make demo` and `make test`.
# Each creates or refreshes the virtual environment (.venv) itself.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint format bench bench-compare venv clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	touch $(STAMP)

venv: $(STAMP)

## make demo: generate the demo county, import, analyse, report, then serve it (ZHIJIAN_NO_SERVE=1: do not serve)
demo: $(STAMP)
	$(BIN)/zhijian demo --dir demo-workspace

## make test: the whole test suite (real SQLite/DuckDB; PostgreSQL when ZHIJIAN_TEST_PG is set; Spark local; Chromium)
test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

## make bench: benchmarks (not part of make test); prints tables, writes bench/results/*.json
bench: $(STAMP)
	$(BIN)/python bench/run_all.py

bench-compare: $(STAMP)
	$(BIN)/python bench/run_all.py --compare

clean:
	rm -rf $(VENV) demo-workspace test-output
