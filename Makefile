# Two commands on a fresh machine: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# A local CPU wheel of torch, where the machine has one, so pip never pulls CUDA wheels.
WHEELS := $(wildcard /opt/wheels)
FIND_LINKS := $(if $(WHEELS),--find-links $(WHEELS),--extra-index-url https://download.pytorch.org/whl/cpu)
STAMP := $(VENV)/.installed
LLAMA_CPP := llama-cpp-python[server]==0.3.36

.PHONY: install demo test test-fast bench lint clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile constraints/tested.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet $(FIND_LINKS) -c constraints/tested.txt "torch==2.13.0"
	@# llama.cpp's OpenAI-compatible server (the real-model judge tests): built from source, ~4 min on 2 cores,
	@# once (pip skips it when installed). Portable build (GGML_NATIVE=OFF: AVX2, no AVX-512/AMX): a native
	@# build segfaults on its first request on VMs that report AMX without enabling it. No wheel cache, so a
	@# native wheel cached by an earlier plain `pip install` is never reused.
	CMAKE_ARGS="-DGGML_NATIVE=OFF" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
		$(PIP) install --quiet --no-cache-dir -c constraints/tested.txt "$(LLAMA_CPP)"
	$(PIP) install --quiet $(FIND_LINKS) -c constraints/tested.txt -e ".[all]"
	touch $(STAMP)

demo: install
	mkdir -p runs
	$(VENV)/bin/rewardsmith score --reward examples/demo_reward.py:demo_reward --input examples/demo.jsonl --output runs/demo_scores.jsonl
	$(PY) examples/show_scores.py runs/demo_scores.jsonl
	@# GRPO + LoRA on the embedded SmolLM2-135M, CPU, fixed seed: ~10 min on 2 cores (docs/training.md)
	$(VENV)/bin/rewardsmith train --device cpu --name demo --overwrite

test: install
	$(PY) -m pytest -q

# the unit tests only: no integration tests (real servers, models, a GRPO run), about a minute
test-fast: install
	$(PY) -m pytest -q -m "not integration"

bench: install
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

lint: install
	$(VENV)/bin/ruff check rewardsmith tests benchmarks
	$(VENV)/bin/ruff format --check rewardsmith tests benchmarks
	$(VENV)/bin/mypy rewardsmith

clean:
	rm -rf $(VENV) runs .pytest_cache
