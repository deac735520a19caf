# The two commands of the README: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup test test-min lint demo data pairs bench clean check-wheel

setup:
	bash scripts/setup.sh

lint: setup
	$(VENV)/bin/ruff check .

test: setup lint
	bash scripts/run_tests.sh $(PYTEST_ARGS)

# The suite against the LOWEST supported versions: every lower bound of pyproject.toml pinned
# (scripts/min_constraints.py) in its own venv, .venv-min (about 7 GB: torch 2.6 from PyPI is the
# CUDA build); not part of `make test` or CI. The README records the last result.
# PYTEST_ARGS='-m "not slow"' as recorded there.
test-min:
	bash scripts/test_min.sh $(PYTEST_ARGS)

demo: setup
	bash scripts/demo.sh

# The built wheel in fresh venvs, with and without the napari extra (no checkout on the path).
check-wheel: setup
	PYTHON=$(PY) bash scripts/check_wheel.sh

# The benchmark suite (docs/benchmarks.md): one table of ratios, raw numbers in
# benchmarks/results/latest.json. QUICK=1: smaller sizes and fewer repeats (a few minutes);
# THREADS=N: torch/OpenMP threads per benchmark (default: torch's, one per core).
QUICK ?=
THREADS ?=
bench: setup
	$(PY) benchmarks/run.py $(if $(filter-out 0,$(QUICK)),--quick) $(if $(THREADS),--threads $(THREADS))

# Real datasets for training and evaluation, into data/ (ignored by git; never committed).
# SHARED points at the folder holding jsrt_scr/ and shenzhen_mini10/ (see docs/data.md).
SHARED ?= ../shared/data
data: setup
	@prep() { [ -f data/$$2/dataset.json ] && echo "data/$$2: present" || \
	  $(VENV)/bin/vqseg-data prepare $$1 --out data/$$2 --quiet $$3; }; \
	prep jsrt jsrt "--source $(SHARED)/jsrt_scr" && \
	prep shenzhen shenzhen "--source $(SHARED)/shenzhen_mini10" && \
	prep montgomery_shenzhen montgomery_shenzhen "--source $(SHARED)/montgomery_shenzhen" && \
	prep ct-organs ct-organs && prep brain-colin27 brain-colin27 && prep brain-mni152 brain-mni152

# Train the CPU-sized bundled pairs (the chest-xray pair: scripts/gpu_train_pairs.sh on a GPU).
pairs: data
	bash scripts/train_pairs_cpu.sh

clean:
	rm -rf $(VENV) .venv-min .pytest_cache .ruff_cache build dist
