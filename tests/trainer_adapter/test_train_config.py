"""`TrainConfig` / `rewardsmith train` arguments: bad values fail before any model loads, with clear messages."""

from __future__ import annotations

import json

import pytest

from rewardsmith import ConfigError
from rewardsmith.cli import main
from rewardsmith.trainer_adapter.cli import parse_reward_flag
from rewardsmith.trainer_adapter.config import DEFAULT_REWARDS, build_config, load_config


def test_defaults_are_the_cpu_demo_and_resolve():
    c = load_config()
    assert c.model == "smollm2-135m" and c.dataset.task == "arithmetic" and c.device == "auto"
    assert [r.spec for r in c.rewards] == [r["spec"] for r in DEFAULT_REWARDS]
    assert c.grpo.batch_size % c.grpo.num_generations == 0
    assert str(c.run_dir) == "runs/demo"


def test_unknown_reward_spec_is_rejected_with_the_field_and_the_known_presets():
    with pytest.raises(ConfigError) as err:
        load_config(rewards=[{"spec": "maths", "weight": 1.0}])
    msg = str(err.value)
    assert "rewards.0.spec" in msg and "unknown preset 'maths'" in msg and "did you mean 'math'" in msg


def test_bad_preset_parameter_is_rejected():
    with pytest.raises(ConfigError, match="rewards.0.spec: preset 'proximity' has no parameter 'tolerence'"):
        load_config(overrides=["rewards=[proximity:tolerence=0.1]"])


def test_generations_that_do_not_divide_the_batch():
    with pytest.raises(ConfigError, match=r"num_generations=3 does not divide batch_size=8.*multiple of 3"):
        load_config(overrides=["grpo.num_generations=3", "grpo.batch_size=8"])


def test_missing_model_path():
    with pytest.raises(ConfigError, match=r"model: model path './no/such/model' does not exist"):
        load_config(model="./no/such/model")


def test_model_folder_without_config(tmp_path):
    with pytest.raises(ConfigError, match="has no config.json"):
        load_config(model=str(tmp_path))


def test_hub_id_is_accepted_without_network():
    assert load_config(model="HuggingFaceTB/SmolLM2-135M-Instruct").model == "HuggingFaceTB/SmolLM2-135M-Instruct"


@pytest.mark.parametrize(
    "override, message",
    [
        ("grpo.stepz=3", "grpo.stepz: unknown setting"),
        ("grpo.steps=0", "grpo.steps: Input should be greater than or equal to 1"),
        ("grpo.learning_rate=-1", "grpo.learning_rate: Input should be greater than 0"),
        ("device=tpu", "device: Input should be 'auto', 'cpu' or 'cuda'"),
        ("name=../escape", "name: name '../escape' must be a plain folder name"),
        ("dataset.path=./missing.jsonl", "dataset.path './missing.jsonl' does not exist"),
        ("rewards=[]", "rewards: List should have at least 1 item"),
        ("steps", "override 'steps' is not key=value"),
    ],
)
def test_bad_values_name_the_field(override, message):
    with pytest.raises(ConfigError, match="^.*" + message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        load_config(overrides=[override])


def test_file_then_flags_then_overrides(tmp_path):
    yaml_file = tmp_path / "run.yaml"
    yaml_file.write_text(
        "name: fromfile\ngrpo:\n  steps: 7\n  beta: 0.04\nlora:\n  r: 4\nrewards: [exact, {spec: math, weight: 2}]\n"
    )
    c = load_config(str(yaml_file), ["lora.r=8"], **{"grpo.steps": 9})
    assert (c.name, c.grpo.steps, c.grpo.beta, c.lora.r) == ("fromfile", 9, 0.04, 8)
    assert [(r.spec, r.weight) for r in c.rewards] == [("exact", 1.0), ("math", 2.0)]
    json_file = tmp_path / "run.json"
    json_file.write_text(json.dumps(c.dump()))
    assert load_config(str(json_file)) == c


def test_bad_config_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(str(tmp_path / "nope.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_config(str(bad))


def test_dataset_path_replaces_the_default_task(tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text('{"prompt": "2+2?", "answer": "4"}\n')
    c = load_config(**{"dataset.path": str(data)})
    assert c.dataset.task is None and c.dataset.path == str(data)
    with pytest.raises(ConfigError, match="either dataset.task or dataset.path"):
        build_config({"dataset": {"task": "arithmetic", "path": str(data)}})


def test_reward_flag_weights():
    assert parse_reward_flag("math@2") == {"spec": "math", "weight": 2.0}
    assert parse_reward_flag("proximity:tolerance=0.1") == {"spec": "proximity:tolerance=0.1", "weight": 1.0}


def test_cli_rejects_bad_values_with_exit_2(capsys):
    assert main(["train", "--num-generations", "3", "--batch-size", "8"]) == 2
    assert "does not divide batch_size=8" in capsys.readouterr().err
    assert main(["train", "--reward", "nonexistent_reward@1"]) == 2
    assert "unknown preset 'nonexistent_reward'" in capsys.readouterr().err
    assert main(["train", "--model", "/no/such/dir"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["train", "grpo.steps"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err


def test_cuda_without_a_gpu_is_an_error_not_a_fallback():
    import torch

    from rewardsmith.trainer_adapter.train import pick_device

    if torch.cuda.is_available():
        assert pick_device("cuda")[0] == "cuda"
    else:
        with pytest.raises(ConfigError, match="no GPU"):
            pick_device("cuda")
    assert pick_device("cpu") == ("cpu", False)


def test_datasets_load_from_the_task_or_a_jsonl_file(tmp_path):
    from rewardsmith.trainer_adapter.train import load_datasets

    train_rows, held_out = load_datasets(load_config(overrides=["dataset.n_train=6", "dataset.n_eval=3"]))
    assert len(train_rows) == 6 and len(held_out) == 3
    assert not set(train_rows["question"]) & set(held_out["question"])
    data = tmp_path / "d.jsonl"
    data.write_text(
        '{"question": "2+2?", "answer": "4", "level": 1}\n{"question": "3+3?", "answer": "6", "level": 2}\n'
    )
    rows, none = load_datasets(load_config(**{"dataset.path": str(data), "dataset.prompt_column": "question"}))
    assert none is None and rows.column_names == ["prompt", "answer", "level"] and rows[1]["prompt"] == "3+3?"
    with pytest.raises(ConfigError, match="'prompt' column"):
        load_datasets(load_config(**{"dataset.path": str(data)}))
