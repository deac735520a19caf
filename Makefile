# The two commands of the README: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup test lint demo data pairs clean

setup:
	bash scripts/setup.sh

lint: setup
	$(VENV)/bin/ruff check .

test: setup lint
	bash scripts/run_tests.sh $(PYTEST_ARGS)

demo: setup
	bash scripts/demo.sh

# Real datasets for training and evaluation, into data/ (ignored by git; never committed).
# SHARED points at the folder holding jsrt_scr/ and shenzhen_mini10/ (see docs/data.md).
SHARED ?= ../shared/data
data: setup
	@prep() { [ -f data/$$2/dataset.json ] && echo "data/$$2: present" || \
	  $(VENV)/bin/vqseg-data prepare $$1 --out data/$$2 --quiet $$3; }; \
	prep jsrt jsrt "--source $(SHARED)/jsrt_scr" && \
	prep shenzhen shenzhen "--source $(SHARED)/shenzhen_mini10" && \
	prep ct-organs ct-organs && prep brain-colin27 brain-colin27 && prep brain-mni152 brain-mni152

# Train the CPU-sized bundled pairs (the chest-xray pair: scripts/gpu_train_pairs.sh on a GPU).
pairs: data
	bash scripts/train_pairs_cpu.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist
