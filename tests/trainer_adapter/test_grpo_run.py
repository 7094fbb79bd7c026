"""A real 2-step GRPOTrainer run with LoRA on the embedded SmolLM2-135M and a composite rewardsmith reward.

Kept small for CI on 2 cores (2 prompts × 2 generations, 12-token completions, rank-4 LoRA). The first run
on a fresh machine also converts the embedded GGUF into the cache (~40 s, once).
"""

from __future__ import annotations

import json

import pytest

from rewardsmith.trainer_adapter import load_config, train

pytestmark = pytest.mark.integration


def test_two_grpo_steps_log_our_reward_names_and_parts(tmp_path):
    config = load_config(
        overrides=[
            f"output_dir={tmp_path}",
            "name=ci",
            "device=cpu",
            "progress=false",
            "grpo.steps=2",
            "grpo.num_generations=2",
            "grpo.batch_size=4",
            "grpo.max_completion_length=12",
            "lora.r=4",
            "lora.alpha=8",
            "lora.target_modules=[q_proj, v_proj]",
            "dataset.n_train=8",
            "dataset.n_eval=2",
            "rewards=[{spec: 'format:strict=false', weight: 0.5}, {spec: math}, {spec: proximity, weight: 0.5}]",
        ]
    )
    result = train(config)

    rows = [json.loads(line) for line in result.metrics_path.read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2] and result.steps == 2
    for row in rows:
        # TRL's own per-function metric, under the name our adapter gave it
        assert "rewards/total/mean" in row and "reward" in row
        # our parts (unweighted means) and status shares, logged through TRL's log_metric
        for part in ("format", "math", "proximity"):
            assert 0.0 <= row[f"rewards/total/{part}/mean"] <= 1.0
        # only the statuses seen are logged (a status seen once is logged at 0.0 on later steps)
        assert row["rewards/total/status/ok"] + row.get("rewards/total/status/unscored", 0.0) == pytest.approx(1.0)
        # the total is the weighted sum of the parts (no part unscored here)
        expected = (
            0.5 * row["rewards/total/format/mean"]
            + row["rewards/total/math/mean"]
            + 0.5 * row["rewards/total/proximity/mean"]
        )
        assert row["rewards/total/mean"] == pytest.approx(expected, abs=1e-5)
    assert result.first_reward == rows[0]["reward"] and result.last_reward == rows[1]["reward"]

    run = tmp_path / "ci"
    assert json.loads((run / "config.json").read_text())["grpo"]["steps"] == 2
    assert result.plot_path == run / "reward_curve.png" and result.plot_path.read_bytes()[:4] == b"\x89PNG"
    adapter = json.loads((result.adapter_path / "adapter_config.json").read_text())
    assert adapter["r"] == 4 and sorted(adapter["target_modules"]) == ["q_proj", "v_proj"]
    assert (result.adapter_path / "adapter_model.safetensors").stat().st_size > 0
    # greedy evaluation on the held-out split, before and after, scored with the same composite
    evaluation = json.loads((run / "eval.json").read_text())
    assert evaluation["before"]["n"] == evaluation["after"]["n"] == 2
    assert set(evaluation["after"]["parts"]) == {"format", "math", "proximity"}
    assert result.eval_after["mean"] == evaluation["after"]["mean"]
