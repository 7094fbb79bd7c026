"""Tell a real Ctrl-C (or a termination signal) from a reward that raises KeyboardInterrupt or SystemExit.

A reward that calls `sys.exit()` or raises `KeyboardInterrupt` on one row must cost that row (status
`error`), not the batch; a person pressing Ctrl-C, or a `kill`, must stop the run. Python raises both
as the same exception, so while a batch runs on the main thread we wrap the SIGINT handler to note
that a real signal arrived. Off the main thread no signal can raise anything, so a KeyboardInterrupt
there always came from the reward.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

_signalled = False
_guarded = 0


class Terminated(KeyboardInterrupt):
    """The process received SIGTERM or SIGHUP while rewardsmith was running (see `terminate_on_signals`)."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"received {signal.Signals(signum).name}")
        self.signum = signum


def _note_and_chain(previous: Any) -> Callable[[int, FrameType | None], Any]:
    def handler(signum: int, frame: FrameType | None) -> Any:
        global _signalled
        _signalled = True
        return previous(signum, frame)

    return handler


@contextmanager
def guard() -> Iterator[None]:
    """While active on the main thread, a real Ctrl-C is recorded so `is_real_interrupt` can tell."""
    global _guarded, _signalled
    if threading.current_thread() is not threading.main_thread() or _guarded:
        yield  # off the main thread nothing needs recording; nested, the outer guard records
        return
    previous = signal.getsignal(signal.SIGINT)
    installed = False
    if callable(previous):  # SIG_IGN or SIG_DFL never raise KeyboardInterrupt: nothing to wrap
        try:
            signal.signal(signal.SIGINT, _note_and_chain(previous))
            installed = True
        except ValueError:  # the main thread of a sub-interpreter
            pass
    _signalled = False
    _guarded += 1
    try:
        yield
    finally:
        _guarded -= 1
        if installed:
            signal.signal(signal.SIGINT, previous)


def is_real_interrupt(exc: BaseException) -> bool:
    """True when `exc` should stop the run rather than become one row's error."""
    if isinstance(exc, Terminated):
        return True
    if not isinstance(exc, KeyboardInterrupt):
        return False
    from rewardsmith.core.pool import in_worker

    if in_worker():
        return False  # pool workers ignore SIGINT: the caller handles Ctrl-C
    if threading.current_thread() is not threading.main_thread():
        return False  # signals only ever raise in the main thread
    if _signalled:
        return True
    # unguarded, we cannot tell: stopping is the safe reading of a KeyboardInterrupt
    return _guarded == 0


@contextmanager
def terminate_on_signals() -> Iterator[None]:
    """For the CLI: SIGTERM and SIGHUP raise `Terminated` (so cleanup runs), Ctrl-C is recorded as real."""
    global _signalled
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_signal(signum: int, frame: FrameType | None) -> None:
        global _signalled
        _signalled = True
        raise Terminated(signum)

    saved = {}
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            saved[sig] = signal.signal(sig, on_signal)
    try:
        with guard():
            yield
    finally:
        for sig, previous in saved.items():
            signal.signal(sig, previous)
