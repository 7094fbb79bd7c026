#!/usr/bin/env bash
# The GPU path of `rewardsmith train`: a short GRPO + LoRA run on CUDA (bf16 where the GPU supports it)
# with the demo's composite reward. Prints each step's time, the reward's share of the step, each part's
# cost and the peak GPU memory. Not part of `make test` (CI has no GPU); run it on a CUDA machine:
#
#     pip install -e '.[demo]'            # with a CUDA build of torch in the environment
#     bash benchmarks/gpu_check.sh        # STEPS=8 for more steps; PY=/path/to/python for another venv
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
"$PY" - <<'PYEOF'
import sys
import torch
if not torch.cuda.is_available():
    sys.exit(f"gpu_check: torch {torch.__version__} sees no CUDA device (a CPU build, or no GPU here)")
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name(0)}, "
      f"bf16 {'yes' if torch.cuda.is_bf16_supported() else 'no'}")
PYEOF
"$PY" benchmarks/bench_train_step.py --device cuda --steps "${STEPS:-6}"
