"""Built-in training tasks generated in code, so the demo and the tests need no dataset download.

`arithmetic`: small addition/subtraction word problems in the spirit of "What is 2+2?", as chat prompts
that ask for the final number inside `<answer>` tags. Problems are drawn from a seeded generator; the
held-out split uses problems that never occur in the training split (compared by question text), so
an evaluation on it measures generalisation, not recall.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from rewardsmith.core.errors import ConfigError

SYSTEM_PROMPT = "Think briefly inside <think> </think>, then give only the final number inside <answer> </answer>."
# One worked exchange before the question: a 135M model copies a demonstrated format far more often than
# it follows an instruction alone (measured: ~30% tagged completions with it, none without), and GRPO
# needs some tagged completions in a group to learn from.
EXAMPLE = [
    {"role": "user", "content": "What is 3 + 4?"},
    {"role": "assistant", "content": "<think>3 + 4 = 7</think> <answer>7</answer>"},
]

_TEMPLATES_ADD = (
    "What is {a} + {b}?",
    "What is {a} + {b}?",
    "What is {a} + {b}?",
    "{name} has {a} apples and buys {b} more. How many apples does {name} have now?",
    "A box holds {a} pens. {name} puts in {b} more pens. How many pens are in the box?",
)
_TEMPLATES_SUB = (
    "What is {a} - {b}?",
    "What is {a} - {b}?",
    "What is {a} - {b}?",
    "{name} has {a} marbles and gives away {b}. How many marbles are left?",
    "There are {a} birds on a tree. {b} fly away. How many birds are still on the tree?",
)
_NAMES = ("Tom", "Ana", "Lee", "Sara", "Omar", "Mia", "Ivan", "Zoe")


def arithmetic_problem(rng: random.Random, *, max_operand: int = 20) -> dict[str, str]:
    """One problem: `question` (text) and `answer` (the integer result as a string)."""
    a, b = rng.randint(1, max_operand), rng.randint(1, max_operand)
    name = rng.choice(_NAMES)
    if rng.random() < 0.5:
        return {"question": rng.choice(_TEMPLATES_ADD).format(a=a, b=b, name=name), "answer": str(a + b)}
    a, b = max(a, b), min(a, b)  # no negative results: the task stays easy
    return {"question": rng.choice(_TEMPLATES_SUB).format(a=a, b=b, name=name), "answer": str(a - b)}


def arithmetic(
    *,
    n_train: int = 256,
    n_eval: int = 64,
    seed: int = 0,
    max_operand: int = 20,
    system_prompt: str = SYSTEM_PROMPT,
    example: bool = True,
) -> dict[str, list[dict[str, Any]]]:
    """`{"train": rows, "eval": rows}`; each row has `prompt` (chat messages), `answer` and `question`.

    Three in five problems are bare expressions ("What is 7 + 5?"), the rest short word problems.
    `example=True` puts one worked exchange before the question (see EXAMPLE).

    >>> data = arithmetic(n_train=4, n_eval=2, seed=1)
    >>> [len(data["train"]), len(data["eval"])]
    [4, 2]
    >>> data["train"][0]["prompt"][-1]["role"], sorted(data["train"][0])
    ('user', ['answer', 'prompt', 'question'])
    >>> {r["question"] for r in data["train"]} & {r["question"] for r in data["eval"]}
    set()
    """
    if n_train < 1 or n_eval < 0:
        raise ConfigError(f"task 'arithmetic': n_train must be ≥ 1 and n_eval ≥ 0, got {n_train} and {n_eval}")
    rng = random.Random(seed)
    seen: set[str] = set()
    splits: dict[str, list[dict[str, Any]]] = {"train": [], "eval": []}
    budget = 200 * (n_train + n_eval)  # the problem space is finite; do not loop forever on huge requests
    for split, count in (("train", n_train), ("eval", n_eval)):
        while len(splits[split]) < count:
            budget -= 1
            if budget < 0:
                raise ConfigError(
                    f"task 'arithmetic': cannot draw {n_train + n_eval} distinct problems with "
                    f"max_operand={max_operand}; raise max_operand or ask for fewer"
                )
            problem = arithmetic_problem(rng, max_operand=max_operand)
            if split == "eval" and problem["question"] in seen:
                continue
            if split == "train":
                seen.add(problem["question"])
            messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
            messages += [dict(m) for m in EXAMPLE] if example else []
            messages.append({"role": "user", "content": problem["question"]})
            splits[split].append({"prompt": messages, "answer": problem["answer"], "question": problem["question"]})
    return splits


TASKS: dict[str, Callable[..., dict[str, list[dict[str, Any]]]]] = {"arithmetic": arithmetic}
