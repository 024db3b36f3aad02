VENV ?= .venv
PY = $(VENV)/bin/python

.PHONY: install run demo test lint bench bench-detection clean

$(VENV)/bin/monitor: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -e '.[test]'
	@touch $@

install: $(VENV)/bin/monitor

run: install
	$(VENV)/bin/monitor run --config config.toml

demo: install
	$(VENV)/bin/monitor demo

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: lint
	$(VENV)/bin/pytest

# BENCH_ARGS="--quick" for a run of a few minutes, "--only backtest" (or ingest,tick,live,alerts,memory) for some sections.
bench: install
	$(PY) bench/run.py $(BENCH_ARGS)
	$(PY) bench/sentiment_eval.py
	$(PY) bench/terms.py

# Detection quality (about 15 minutes on 2 cores): negative-spike and mention-storm against ElastAlert's
# and Huginn's, by scenario, on held-out streams; then what oracles that know the true rates reach on them.
bench-detection: install
	$(PY) bench/detection_eval.py --rules negative-spike --storm --jobs 2
	$(PY) bench/detection_bound.py --jobs 2

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
