"""The batch engine: hard timeouts from any thread or event loop, order, crashes, no leaks."""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time

import psutil
import pytest

import rewardsmith as rs
from rewardsmith import Score
from rewardsmith.core.backends import default_backend
from tests.processes import gone, no_stray_processes, pool_processes


@rs.reward(name="spinner")
def spinner(sample):
    """Spins forever in pure Python or inside one C call (regex backtracking), else returns len."""
    if sample.text == "spin-python":
        while True:
            pass
    if sample.text == "spin-c":
        # catastrophic backtracking: one C call that never checks for signals
        re.fullmatch(r"(a|aa)+c", "a" * 64)
    return float(len(sample.text))


SAMPLES = ["a", "spin-python", "bbb", "spin-c", "cc"]
EXPECTED = [(1.0, "ok"), (0.0, "timeout"), (3.0, "ok"), (0.0, "timeout"), (2.0, "ok")]


def _check(scores):
    assert [(s.value, s.status) for s in scores] == EXPECTED
    assert "time limit" in scores[1].reason


def test_timeout_kills_spinning_workers_from_main_thread():
    started = time.monotonic()
    _check(spinner.score_batch(SAMPLES, timeout=0.5, workers=2))
    assert time.monotonic() - started < 10
    no_stray_processes()


def test_timeout_from_a_worker_thread():
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("scores", spinner.score_batch(SAMPLES, timeout=0.5)))
    t.start()
    t.join(30)
    assert not t.is_alive()
    _check(out["scores"])
    no_stray_processes()


async def test_timeout_inside_asyncio():
    _check(await spinner.ascore_batch(SAMPLES, timeout=0.5, workers=2))
    # the sync face too, called from inside the running loop
    _check(spinner.score_batch(SAMPLES, timeout=0.5, workers=1))
    no_stray_processes()


def test_reward_default_timeout_applies():
    slow = rs.reward(spinner.fn, name="slow", kind="cpu", timeout=0.3)
    scores = slow.score_batch(["x", "spin-python"])
    assert [s.status for s in scores] == ["ok", "timeout"]


async def test_async_timeout_and_bounded_concurrency():
    in_flight = 0
    peak = 0

    @rs.reward
    async def judge(sample):
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await asyncio.sleep(10 if sample.text == "slow" else 0.02)
        finally:
            in_flight -= 1
        return 1.0

    texts = ["x"] * 20 + ["slow"]
    scores = await judge.ascore_batch(texts, timeout=0.5, max_concurrency=4)
    assert peak <= 4
    assert [s.status for s in scores[:20]] == ["ok"] * 20
    # an async reward that does not answer is the infrastructure's failure: unscored, never a fake 0
    assert scores[20].status == "unscored" and scores[20].value is None
    assert "time limit" in scores[20].reason and scores[20].details["timeout_s"] == 0.5


def test_max_concurrency_is_declared_on_the_reward():
    in_flight = peak = 0

    @rs.reward(max_concurrency=3)
    async def judge(sample):
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1
        return 1.0

    assert judge.max_concurrency == 3 and rs.Reward.max_concurrency is None
    assert [s.value for s in judge.score_batch(["x"] * 12)] == [1.0] * 12
    assert peak == 3


def test_async_row_that_never_returns_gets_the_default_deadline(monkeypatch):
    import rewardsmith.core.backends as backends

    monkeypatch.setattr(backends, "DEFAULT_IO_TIMEOUT_S", 0.5)

    @rs.reward
    async def stuck(sample):
        if sample.text == "never":
            await asyncio.Event().wait()
        return 1.0

    started = time.monotonic()
    scores = stuck.score_batch(["a", "never", "b"])  # no timeout anywhere: the engine's default applies
    assert time.monotonic() - started < 5
    assert [(s.value, s.status) for s in scores] == [(1.0, "ok"), (None, "unscored"), (1.0, "ok")]


def test_reward_decorator_sets_timeout_and_timeout_value():
    @rs.reward(timeout=0.3, timeout_value=-1.0)
    async def slow(sample):
        await asyncio.sleep(5)
        return 1.0

    (s,) = slow.score_batch(["x"])
    assert (s.value, s.status) == (-1.0, "timeout")
    with pytest.raises(rs.UsageError, match="timeout"):
        rs.reward(timeout=0)(lambda s: 1.0)


def test_order_preserved_with_uneven_durations():
    @rs.reward(kind="cpu")
    def sleepy(sample):
        time.sleep(0.05 * (int(sample.text) % 3))
        return float(sample.text)

    texts = [str(i) for i in range(12)]
    assert [s.value for s in sleepy.score_batch(texts, workers=2)] == [float(t) for t in texts]


def test_exceptions_in_pool_become_error_items_and_strict_raises():
    @rs.reward(kind="cpu")
    def picky(sample):
        if sample.text == "bad":
            raise ValueError("cannot score this")
        return 1.0

    scores = picky.score_batch(["ok", "bad", "ok"], workers=2)
    assert [s.status for s in scores] == ["ok", "error", "ok"]
    assert "ValueError: cannot score this" in scores[1].reason
    assert "raise ValueError" in scores[1].details["traceback"]  # the traceback crosses the process boundary
    with pytest.raises(ValueError, match="cannot score"):
        picky.score_batch(["ok", "bad"], workers=2, strict=True)
    # the pool survives a strict failure and serves the next batch
    assert [s.value for s in picky.score_batch(["ok", "ok"], workers=2)] == [1.0, 1.0]
    no_stray_processes()


def test_crashing_worker_is_replaced():
    @rs.reward(kind="cpu")
    def crashy(sample):
        if sample.text == "die":
            os._exit(3)
        return 1.0

    scores = crashy.score_batch(["a", "die", "b", "c"], workers=1, timeout=5)
    assert [s.status for s in scores] == ["ok", "error", "ok", "ok"]
    assert "exit code 3" in scores[1].reason


def test_timeout_kills_subprocesses_the_reward_started():
    import subprocess
    import sys

    @rs.reward(kind="cpu")
    def spawns(sample):
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        while True:
            time.sleep(0.1)

    scores = spawns.score_batch(["x"], timeout=1.0)
    assert scores[0].status == "timeout"
    no_stray_processes()


def test_score_objects_and_details_cross_the_process_boundary():
    @rs.reward(kind="cpu")
    def rich(sample):
        return Score(0.5, "half", "wrong", {"nested": {"list": [1, 2]}})

    (s,) = rich.score_batch(["x"], workers=1, timeout=5)
    assert s == Score(0.5, "half", "wrong", {"nested": {"list": [1, 2]}})


def test_progress_bar_does_not_change_results(capsys):
    scores = spinner.score_batch(["a", "bb"], progress=True)
    assert [s.value for s in scores] == [1.0, 2.0]


@pytest.mark.parametrize(
    "opts", [{"workers": 0}, {"timeout": -1}, {"max_concurrency": 0}, {"workers": True}, {"backend": "ray"}]
)
def test_bad_batch_options(opts):
    with pytest.raises(rs.UsageError):
        spinner.score_batch(["a"], **opts)


async def test_unknown_async_batch_option_is_named():
    with pytest.raises(rs.UsageError, match="'wokers'"):
        await spinner.ascore_batch(["a"], wokers=2)


def test_empty_batch():
    assert spinner.score_batch([]) == []


def test_a_reward_in_a_worker_can_start_its_own_pool():
    @rs.reward(kind="cpu")
    def inner(sample):
        return 2.0

    @rs.reward(kind="cpu")
    def outer(sample):
        return sum(s.value for s in inner.score_batch([sample, sample], workers=2, timeout=5))

    assert [s.value for s in outer.score_batch(["a", "b"], workers=2, timeout=10)] == [4.0, 4.0]
    no_stray_processes()


def test_hang_inside_a_chunk_requeues_the_rest_of_the_chunk():
    # 40 items on one worker are sent in chunks of 10: items queued behind a hang must still be scored
    texts = ["x" * (i % 7 + 1) for i in range(40)]
    texts[5] = "spin-python"
    texts[21] = "spin-c"
    scores = spinner.score_batch(texts, workers=1, timeout=0.5)
    for i, (text, s) in enumerate(zip(texts, scores, strict=True)):
        if text.startswith("spin"):
            assert (s.value, s.status) == (0.0, "timeout"), i
        else:
            assert (s.value, s.status) == (float(len(text)), "ok"), i
    no_stray_processes()


def test_progress_counts_every_item_once(monkeypatch):
    counted = []
    import rewardsmith.core.backends as backends

    class Bar:
        def update(self, n=1):
            counted.append(n)

        def close(self):
            pass

    monkeypatch.setattr(backends, "progress_bar", lambda reward, total, enabled: Bar())
    texts = ["a"] * 30 + ["spin-python"] + ["b"] * 9
    spinner.score_batch(texts, workers=2, timeout=0.5)
    assert sum(counted) == 40


# -- pools that live -------------------------------------------------------------------------------


@rs.reward(kind="cpu")
def whoami(sample):
    return float(os.getpid())


def test_pool_workers_live_across_batches():
    first = {s.value for s in whoami.score_batch(["a"] * 8, workers=2)}
    second = {s.value for s in whoami.score_batch(["b"] * 8, workers=2)}
    assert first == second and len(first) == 2 and os.getpid() not in first


def test_pool_survives_in_a_large_process():
    ballast = bytearray(300 * 1024 * 1024)  # a training process is large; forking it per batch is what costs
    for i in range(0, len(ballast), 4096):
        ballast[i] = 1
    pool = default_backend().process.pool_for(whoami, 2)
    started = pool.started
    pids = [{s.value for s in whoami.score_batch(["x"] * 4, workers=2)} for _ in range(5)]
    assert all(p == pids[0] for p in pids)
    assert pool.started - started <= 2  # at most the first batch started workers
    del ballast


def test_a_dead_worker_is_replaced_between_batches():
    import signal

    pids = {int(s.value) for s in whoami.score_batch(["a"] * 4, workers=2)}
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    assert gone(pids)
    again = {int(s.value) for s in whoami.score_batch(["a"] * 4, workers=2)}
    assert len(again) == 2 and not again & pids


def test_worker_recycled_after_max_items_and_memory_growth():
    from rewardsmith.core.backends import ProcessBackend

    @rs.reward(kind="cpu")
    def leaky(sample):
        if sample.text == "leak":
            leaky.hoard = getattr(leaky, "hoard", []) + [bytearray(40 * 1024 * 1024)]
            leaky.hoard[-1][::4096] = b"x" * len(leaky.hoard[-1][::4096])
        return float(os.getpid())

    with ProcessBackend(max_items_per_worker=3) as backend:
        pids = [s.value for s in leaky.score_batch(["a"] * 9, workers=1, backend=backend)]
    assert len(set(pids)) == 3  # a fresh worker every 3 items

    with ProcessBackend(max_memory_growth_mb=20) as backend:
        pids = [s.value for s in leaky.score_batch(["leak", "a", "a"], workers=1, backend=backend)]
    assert pids[0] != pids[1] == pids[2]  # the worker that grew by 40 MB was replaced


def test_rebinding_an_attribute_restarts_a_stale_pool():
    class Offset(rs.Reward):
        kind = "cpu"

        def __init__(self):
            self.offset = 1.0

        def _score(self, sample):
            return self.offset

    r = Offset()
    assert [s.value for s in r.score_batch(["a", "b"], workers=2)] == [1.0, 1.0]
    r.offset = 5.0
    assert [s.value for s in r.score_batch(["a", "b"], workers=2)] == [5.0, 5.0]


def test_pool_is_closed_when_its_reward_is_collected():
    import gc

    @rs.reward(kind="cpu")
    def temporary(sample):
        return float(os.getpid())

    pids = {int(s.value) for s in temporary.score_batch(["a"] * 4, workers=2)}
    del temporary
    gc.collect()
    assert gone(pids)


def test_shutdown_stops_every_worker_and_the_next_batch_restarts():
    pids = {int(s.value) for s in whoami.score_batch(["a"] * 4, workers=2)}
    rs.shutdown()
    assert gone(pids)
    assert pool_processes() == set()
    assert len({s.value for s in whoami.score_batch(["a"] * 4, workers=2)}) == 2


def test_shutdown_also_stops_the_code_sandboxes():
    fence = "`" * 3
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    code = rs.load("code")
    s = code.score({"completion": f"{fence}python\ndef f():\n    return 1\n{fence}", "tests": "assert f() == 1"})
    assert s.value == 1.0
    whoami.score_batch(["a", "b"], workers=2)
    started = {p.pid for p in psutil.Process().children(recursive=True)} - before
    assert started  # warm sandboxes and pool workers are up
    rs.shutdown()
    assert gone(started, timeout=10)


# -- any process: daemonic children, multiprocessing.Pool, forks ----------------------------------


def _score_math_and_report(queue):
    math = rs.load("math")  # held: a reward's pool closes when the reward is collected
    scores = math.score_batch([{"completion": r"\boxed{\frac12}", "answer": "0.5"}] * 3)
    queue.put(([s.value for s in scores], sorted(pool_processes())))


def _score_math():
    return [s.value for s in rs.load("math").score_batch([{"completion": r"\boxed{2}", "answer": "2"}] * 3)]


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_scoring_inside_a_daemonic_process(method):
    import multiprocessing as mp

    ctx = mp.get_context(method)
    queue = ctx.Queue()
    child = ctx.Process(target=_score_math_and_report, args=(queue,), daemon=True)
    child.start()
    values, pids = queue.get(timeout=120)
    child.join(30)
    assert values == [1.0, 1.0, 1.0] and child.exitcode == 0
    assert pids and gone(pids)  # the child's workers died with it (it exits without atexit)


def test_scoring_inside_a_multiprocessing_pool_worker():
    import multiprocessing as mp

    with mp.get_context("fork").Pool(1) as pool:
        assert pool.apply(_score_math) == [1.0, 1.0, 1.0]


def test_forked_child_gets_its_own_pool():
    pids = {int(s.value) for s in whoami.score_batch(["a"] * 4, workers=2)}
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            got = {int(s.value) for s in whoami.score_batch(["a"] * 4, workers=2)}
            os.write(write, b"ok" if got and not got & pids else b"shared")
        finally:
            os._exit(0)
    os.close(write)
    assert os.read(read, 16) == b"ok"
    os.waitpid(pid, 0)
    os.close(read)
    assert {int(s.value) for s in whoami.score_batch(["a"] * 4, workers=2)} == pids  # ours are untouched


# -- one long-lived event loop ----------------------------------------------------------------------


def test_sync_batches_of_an_async_reward_share_one_loop():
    class LoopBound(rs.Reward):
        """Holds a loop-bound object made on first use, like an openai.AsyncOpenAI client."""

        kind = "io"

        def __init__(self):
            self.lock = None
            self.loops = set()

        async def _ascore(self, sample):
            if self.lock is None:
                self.lock = asyncio.Lock()
            async with self.lock:  # raises if used from another loop
                await asyncio.sleep(0)
            self.loops.add(id(asyncio.get_running_loop()))
            return 1.0

    judge = LoopBound()
    for _ in range(3):
        assert [s.value for s in judge.score_batch(["a", "b", "c"])] == [1.0, 1.0, 1.0]
    assert judge.score("x").value == 1.0
    assert len(judge.loops) == 1


async def test_async_callers_also_run_async_rewards_on_the_shared_loop():
    from rewardsmith.core.aio import shared_loop

    seen = []

    @rs.reward
    async def where(sample):
        seen.append(asyncio.get_running_loop())
        return 1.0

    await where.ascore_batch(["a", "b"])
    where.score_batch(["c"])
    assert set(seen) == {shared_loop()} and asyncio.get_running_loop() is not shared_loop()


# -- every BaseException is one row's error --------------------------------------------------------


def _bad(sample):
    import sys

    if sample.text == "exit":
        sys.exit(0)
    if sample.text == "interrupt":
        raise KeyboardInterrupt
    if sample.text == "unpicklable":
        return Score(1.0, "holds a lambda", "ok", {"fn": lambda: 1, "fine": [1, 2]})
    return 1.0


@pytest.mark.parametrize("kind", ["inline", "cpu"])
def test_exit_and_interrupt_in_a_reward_cost_one_row(kind):
    bad = rs.reward(_bad, name="bad", kind=kind)
    scores = bad.score_batch(["a", "exit", "interrupt", "unpicklable", "b"], workers=2 if kind == "cpu" else 1)
    assert [s.status for s in scores] == ["ok", "error", "error", "ok", "ok"]
    assert "SystemExit" in scores[1].reason and "KeyboardInterrupt" in scores[2].reason
    assert scores[3].value == 1.0 and scores[3].details["fine"] == [1, 2]
    if kind == "cpu":  # what cannot be pickled arrives as its repr, with a note
        assert scores[3].details["fn"].startswith("<unpicklable function") and scores[3].details["unpicklable"] == [
            "fn"
        ]


async def test_exit_in_an_async_reward_costs_one_row():
    @rs.reward
    async def bad(sample):
        if sample.text == "exit":
            raise SystemExit(2)
        return 1.0

    scores = await bad.ascore_batch(["a", "exit", "b"])
    assert [s.status for s in scores] == ["ok", "error", "ok"]


def test_a_real_ctrl_c_still_stops_an_inline_batch():
    import _thread
    import signal

    # Python installs its Ctrl-C handler only where SIGINT is not ignored at start; a shell's background
    # job (`make test &`, many CI runners) starts with SIGINT ignored, where no Ctrl-C can reach Python.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:

        @rs.reward
        def slow(sample):
            if sample.text == "press":
                _thread.interrupt_main()  # what a real Ctrl-C does: the SIGINT handler raises in the main thread
                time.sleep(1)
            return 1.0

        with pytest.raises(KeyboardInterrupt):
            slow.score_batch(["a", "press", "b"])
    finally:
        signal.signal(signal.SIGINT, previous)


# -- processes a reward starts are reaped -----------------------------------------------------------


def _spawner(sample):
    """Starts a process that records its pid in sample["dir"] and sleeps, in several ways."""
    import subprocess
    import sys

    text, where = sample.text, sample.get("dir")

    def record_and_sleep():
        open(os.path.join(where, str(os.getpid())), "w").close()
        time.sleep(120)
        os._exit(0)

    if text == "popen":
        code = "import os, sys, time; open(os.path.join(sys.argv[1], str(os.getpid())), 'w').close(); time.sleep(120)"
        subprocess.Popen([sys.executable, "-c", code, where])
        time.sleep(0.5)  # let it record itself
    elif text in ("fork", "fork-setsid", "fork-crash"):
        if os.fork() == 0:
            if text == "fork-setsid":
                os.setsid()
            record_and_sleep()
        time.sleep(0.2)
        if text == "fork-crash":
            os._exit(9)  # the worker dies while its child keeps the result socket open
    elif text == "double-fork":
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                record_and_sleep()
            os._exit(0)
        os.wait()
        time.sleep(0.2)
    return 1.0


spawner = rs.reward(_spawner, name="spawner", kind="cpu")


def _recorded(where) -> list[int]:
    return [int(p.name) for p in where.iterdir()]


@pytest.mark.parametrize("how", ["popen", "fork", "fork-setsid", "double-fork"])
def test_processes_started_by_a_reward_do_not_outlive_the_item(how, tmp_path):
    started = time.monotonic()
    rows = [{"completion": c, "dir": str(tmp_path)} for c in (how, "x", how)]
    scores = spawner.score_batch(rows, workers=1)
    assert [s.value for s in scores] == [1.0, 1.0, 1.0]
    assert time.monotonic() - started < 5
    assert len(_recorded(tmp_path)) == 2 and gone(_recorded(tmp_path), timeout=2)
    no_stray_processes()


def test_crash_behind_a_forked_child_is_reported_promptly(tmp_path):
    started = time.monotonic()
    rows = [{"completion": c, "dir": str(tmp_path)} for c in ("x", "fork-crash", "y")]
    scores = spawner.score_batch(rows, workers=1)  # no timeout at all
    assert time.monotonic() - started < 5
    assert [s.status for s in scores] == ["ok", "error", "ok"]
    assert "exit code 9" in scores[1].reason
    assert len(_recorded(tmp_path)) == 1 and gone(_recorded(tmp_path))


def test_workers_do_not_hold_the_callers_stdout(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "leaker.py"
    script.write_text(
        "import rewardsmith as rs\n"
        "def chatty(sample):\n"
        "    print('hello from a worker', flush=True)\n"
        "    return 1.0\n"
        "r = rs.reward(chatty, kind='cpu')\n"
        "print(r.score_batch(['a', 'b'], workers=2)[0].value, flush=True)\n"
        "import os, time; time.sleep(0.5)  # the relay forwards asynchronously\n"
        "os._exit(0)  # no atexit cleanup: the workers must notice on their own\n"
    )
    started = time.monotonic()
    # capture_output reads stdout and stderr to EOF: a worker holding them would hang this call
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert time.monotonic() - started < 30
    assert done.stdout.strip() == "1.0"  # what a worker prints never lands in the caller's stdout...
    assert done.stderr.count("hello from a worker") == 2  # ...it is relayed to stderr


# -- the backend seam -------------------------------------------------------------------------------


def test_a_custom_backend_receives_every_leaf_of_a_composite():
    from rewardsmith.core.backends import Backend, InlineBackend

    class Recording(Backend):
        def __init__(self):
            self.calls = []

        def run(self, reward, samples, options):
            self.calls.append((reward.name, len(samples)))
            return InlineBackend().run(reward, samples, options)

    exact = rs.load("exact")
    total = 2.0 * exact + rs.reward(lambda s: 0.5, name="half")
    backend = Recording()
    scores = total.score_batch(
        [{"completion": "a", "answer": "a"}, {"completion": "b", "answer": "a"}], backend=backend
    )
    assert [s.value for s in scores] == [2.5, 0.5]
    assert sorted(backend.calls) == [("exact", 2), ("half", 2)]


def test_backends_give_the_same_scores():
    from rewardsmith.core.backends import AsyncBackend, InlineBackend, LocalBackend, ProcessBackend

    rows = [{"completion": rf"\boxed{{{i}}}", "answer": "3"} for i in range(6)]
    math = rs.load("math")
    results = []
    for backend in (LocalBackend(), InlineBackend(), ProcessBackend(workers=2), AsyncBackend()):
        with backend:
            results.append([(s.value, s.status) for s in math.score_batch(rows, backend=backend)])
    assert all(r == results[0] for r in results)
    assert [v for v, _ in results[0]] == [0.0, 0.0, 0.0, 1.0, 0.0, 0.0]


def test_composite_with_an_async_part_runs_its_parts_concurrently():
    @rs.reward(kind="cpu")
    def slow_cpu(sample):
        time.sleep(0.4)
        return 1.0

    @rs.reward
    async def slow_io(sample):
        await asyncio.sleep(0.4)
        return 1.0

    both = slow_cpu + slow_io
    started = time.monotonic()
    assert [s.value for s in both.score_batch(["a", "b"], workers=2)] == [2.0, 2.0]
    assert time.monotonic() - started < 0.75  # 0.4 s each, side by side


def test_score_iter_streams_in_order_with_bounded_chunks():
    calls = []

    class Counting(rs.Reward):
        def _score(self, sample):
            return float(sample.text)

        def _batch(self, samples, opts):
            calls.append(len(samples))
            return super()._batch(samples, opts)

    values = [s.value for s in Counting().score_iter((str(i) for i in range(10)), chunk_size=4)]
    assert values == [float(i) for i in range(10)] and calls == [4, 4, 2]
