# The two commands of the README: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup test lint demo clean

setup:
	bash scripts/setup.sh

lint: setup
	$(VENV)/bin/ruff check .

test: setup lint
	bash scripts/run_tests.sh $(PYTEST_ARGS)

demo: setup
	bash scripts/demo.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist
