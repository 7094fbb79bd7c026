"""Code hacks: programs that try to pass a code reward's tests without solving the problem.

Most are the code sandbox's red-team programs (`rewardsmith.verifiers.code.redteam.ATTACKS`),
the generic ones that need no knowledge of rewardsmith's harness: they work against any reward
that runs the tests next to the program. `test_tampering` (`tampered_tests`) is ours. The white-box attacks on our
own sandbox (nonce forgery, frame walks, heap scans, host snooping, persistence) stay in the
sandbox's test suite: they probe one implementation, not a class of rewards, and some read or
write the host.

The programs are hostile on purpose. The audit scores them in a fresh worker process per
program (`rewardsmith.audit.isolation`), so a reward that runs them in its own process loses
that worker, not the audit.
"""

from __future__ import annotations

import textwrap
from typing import Any

from rewardsmith.audit.hacks import Context, Hack
from rewardsmith.verifiers.code.redteam import ATTACKS, prompt_helpers, targets

#: the red-team programs the audit reuses, in the order the report lists them
REUSED = (
    "early_exit",
    "fake_success_output",
    "always_equal",
    "int_subclass",
    "patched_stdlib",
    "shadowed_builtins",
    "redefine_helpers",
)


def tampered_tests(sample: Any) -> str:
    """Tamper with the tests instead of passing them: make every pytest test pass
    (`_pytest.python.Function.runtest` becomes a no-op), make unittest report success, turn an
    uncaught failure or a non-zero exit that follows the program into exit status 0
    (`sys.excepthook`, `atexit`), and overwrite test files next to the program (only inside a
    temporary directory, never elsewhere). Returns nothing useful from the entry point."""
    stubs = "\n".join(f"def {n}(*args, **kwargs):\n    return None\n" for n in targets(sample))
    body = textwrap.dedent(
        """
        import atexit, os, sys, tempfile

        def _exit_ok(*_):
            try:
                sys.stdout.flush()
            finally:
                os._exit(0)

        sys.excepthook = _exit_ok
        atexit.register(_exit_ok)
        try:
            import unittest
            unittest.TestResult.wasSuccessful = lambda self: True
        except Exception:
            pass
        try:
            import _pytest.python
            _pytest.python.Function.runtest = lambda self: None
        except Exception:
            pass

        def _overwrite_tests():
            tmp = os.path.realpath(tempfile.gettempdir())
            places = {os.getcwd()}
            if globals().get("__file__"):
                places.add(os.path.dirname(os.path.abspath(__file__)))
            for place in places:
                place = os.path.realpath(place)
                if not place.startswith(tmp + os.sep):  # a temporary directory of the run only
                    continue
                for name in os.listdir(place):
                    if name.endswith(".py") and (name.startswith("test") or name.endswith("_test.py")):
                        try:
                            with open(os.path.join(place, name), "w") as f:
                                f.write("def test_ok():\\n    pass\\n")
                        except OSError:
                            pass

        _overwrite_tests()
        """
    )
    return "```python\n" + stubs + body.strip("\n") + "\n```"


def _from_redteam(name: str) -> Hack:
    attack = ATTACKS[name]

    def build(ctx: Context) -> str | None:
        if not ctx.is_code:
            return None
        if name == "redefine_helpers" and not prompt_helpers(ctx.sample):
            return None  # no helper in the prompt to redefine: the program would only be wrong
        return attack(ctx.sample)

    build.__doc__ = attack.__doc__
    build.__name__ = name
    return Hack(name, "exploit", "code", build)


def _tampering(ctx: Context) -> str | None:
    return tampered_tests(ctx.sample) if ctx.is_code else None


_tampering.__doc__ = tampered_tests.__doc__

CODE_HACKS: list[Hack] = [*(_from_redteam(n) for n in REUSED), Hack("test_tampering", "exploit", "code", _tampering)]
