"""`rewardsmith train` as users meet it: TRL's names, a previous run never destroyed, a missing extra."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import rewardsmith as rs
from rewardsmith.trainer_adapter.cli import add_train_parser, config_from_args
from rewardsmith.trainer_adapter.config import load_config

# the module, not the `train` function the package exports under the same name
train_module = importlib.import_module("rewardsmith.trainer_adapter.train")

REPO = Path(__file__).resolve().parents[2]


def test_trl_names_for_grpo_settings_and_passthrough_fields():
    c = load_config(overrides=["grpo.max_steps=7", "grpo.per_device_train_batch_size=8", "grpo.report_to=wandb"])
    assert c.grpo.steps == 7 and c.grpo.batch_size == 8
    assert c.grpo.passthrough == {"report_to": "wandb"}  # a trl.GRPOConfig field, passed as given
    with pytest.raises(rs.ConfigError, match=r"grpo.warmup_ratioo: unknown setting"):
        load_config(overrides=["grpo.warmup_ratioo=0.1"])
    with pytest.raises(rs.ConfigError, match="give steps or max_steps, not both"):
        load_config(overrides=["grpo.max_steps=7", "grpo.steps=8"])


def test_trl_flag_names_on_the_command_line():
    import argparse

    parser = argparse.ArgumentParser()
    add_train_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["train", "--max_steps", "3", "--learning_rate", "1e-4", "--per_device_train_batch_size", "8"]
        + ["--report_to", "tensorboard", "--save_steps", "2"]
    )
    c = config_from_args(args)
    assert (c.grpo.steps, c.grpo.learning_rate, c.grpo.batch_size) == (3, 1e-4, 8)
    assert c.grpo.passthrough == {"report_to": "tensorboard", "save_steps": 2}


def test_an_existing_run_is_never_destroyed(tmp_path, monkeypatch):
    previous = tmp_path / "demo"
    previous.mkdir()
    (previous / "metrics.jsonl").write_text('{"step": 1, "reward": 0.5}\n')
    config = load_config(overrides=[f"output_dir={tmp_path}", "name=demo"])
    monkeypatch.setattr(train_module, "build_trainer", lambda config: pytest.fail("must refuse before building"))
    with pytest.raises(rs.UsageError, match=r"already holds a run.*--overwrite"):
        train_module.train(config)
    assert (previous / "metrics.jsonl").read_text() == '{"step": 1, "reward": 0.5}\n'


def test_a_run_that_fails_before_its_first_step_leaves_no_folder(tmp_path, monkeypatch):
    config = load_config(overrides=[f"output_dir={tmp_path}", "name=fresh"])
    monkeypatch.setattr(train_module, "build_trainer", lambda config: object())

    def fails(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(train_module, "_train", fails)
    with pytest.raises(RuntimeError, match="out of memory"):
        train_module.train(config)
    assert not (tmp_path / "fresh").exists()


def test_a_bad_setting_fails_before_anything_is_written(tmp_path):
    with pytest.raises(rs.ConfigError, match="dataset.path"):
        load_config(overrides=[f"output_dir={tmp_path}", "dataset.path=./missing.jsonl"])
    assert list(tmp_path.iterdir()) == []


def test_device_and_dtype_selection(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert train_module.pick_device("auto") == ("cpu", False)
    assert train_module.pick_device("cpu") == ("cpu", False)
    with pytest.raises(rs.ConfigError, match="no GPU"):
        train_module.pick_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert train_module.pick_device("auto") == ("cuda", True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert train_module.pick_device("cuda") == ("cuda", False)  # float32 on a GPU without bf16


@pytest.mark.integration
def test_core_install_without_the_train_extra(tmp_path):
    """A venv made for the test with the core install only: to_trl works, `train` says what to install."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    done = subprocess.run(
        [py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(REPO)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    check = subprocess.run(
        [py, "-c", "import torch"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert check.returncode != 0, "the core install must not pull torch"
    code = (
        "from rewardsmith.trainer_adapter import to_trl\nimport rewardsmith as rs\n"
        "print(to_trl(rs.load('exact'))(prompts=['q'], completions=['4'], answer=['4']))"
    )
    done = subprocess.run([py, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "[1.0]", done.stderr
    cli = str(venv / "bin" / "rewardsmith")
    done = subprocess.run([cli, "train"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 2
    assert "pip install 'rewardsmith[train]'" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "runs").exists()
    rows = tmp_path / "in.jsonl"
    rows.write_text(json.dumps({"completion": "4", "answer": "4"}) + "\n")
    done = subprocess.run(
        [cli, "score", "--reward", "math", "--input", str(rows)], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0 and json.loads(done.stdout)["score"] == 1.0
