# Two commands on a fresh machine:
#   make demo   set everything up (.venv) and run the main job on the embedded defaults
#   make test   set everything up (.venv + dev tools) and run ruff, mypy and the tests
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: demo test lint typecheck pytest bench bench-quality bench-crawl bench-store bench-reprocess eval clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

$(VENV)/.bench-installed: pyproject.toml | $(VENV)/.installed
	$(BIN)/pip install -q -e '.[dev,bench]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/notices demo

lint: $(VENV)/.installed
	$(BIN)/ruff check pipeline schemas flows tests bench
	$(BIN)/ruff format --check pipeline schemas flows tests bench

typecheck: $(VENV)/.installed
	$(BIN)/mypy

pytest: $(VENV)/.installed
	$(BIN)/pytest -q

test: lint typecheck pytest

bench: $(VENV)/.bench-installed
	$(BIN)/python bench/bench_extract.py

bench-quality: $(VENV)/.bench-installed
	$(BIN)/python bench/quality_real.py --corpus fixtures/real

bench-crawl: $(VENV)/.installed
	$(BIN)/python bench/bench_crawl.py --pages 1000,5000

bench-store: $(VENV)/.installed
	$(BIN)/python bench/bench_store.py --records 100000

bench-reprocess: $(VENV)/.installed
	$(BIN)/python bench/bench_reprocess.py --pages 10000 --runs extract:1,pool:1,dask:1,flow:1 --repeat 3
	$(BIN)/python bench/bench_reprocess.py --pages 10000 --runs pool:2,dask:2,flow:2 --repeat 4
	$(BIN)/python bench/bench_reprocess.py --pages 100000 --runs pool:2,dask:2,flow:2 --search

eval: $(VENV)/.installed
	$(BIN)/python ../shared/tools/eval_corpus.py

clean:
	rm -rf $(VENV) records.jsonl data/demo .pytest_cache .mypy_cache .ruff_cache
