PYTHON ?= python

.PHONY: test test-all lint fmt typecheck check bench

test:  ## the test suite (what CI runs)
	pytest -q

lint:
	$(PYTHON) -m ruff check mmrefine_agent plugins strategies tests benchmarks examples
	$(PYTHON) -m ruff format --check mmrefine_agent plugins strategies tests benchmarks examples
	lint-imports --no-cache

fmt:
	$(PYTHON) -m ruff format mmrefine_agent plugins strategies tests benchmarks examples
	$(PYTHON) -m ruff check --fix mmrefine_agent plugins strategies tests benchmarks examples

typecheck:
	$(PYTHON) -m mypy mmrefine_agent plugins strategies

check: lint typecheck test

bench:  ## the benchmark scripts (print figures; slow)
	$(PYTHON) benchmarks/local_model.py
	$(PYTHON) benchmarks/scale.py
	$(PYTHON) benchmarks/report_load.py
