"""Calls from the tests' process into the program's process, and nothing else.

Tests that need an interpreter (loops, the prompt's helpers, unittest classes, pytest-style
functions) run in a *tests' process* that never executes a line of the program: every name
the tests take from the solution is a `Remote`, a proxy whose use sends a request to the
program's process (`Server`, in the run that loaded the solution) and gets back only plain
data through the bounded `codec`. A value that is not plain data (an instance of a solution
class, a generator, a bound method) stays in the program's process and comes back as
another `Remote`, so a test can read its attributes, call its methods and iterate it, but
never compare it, truth-test it, hash it, do arithmetic with it or ask it whether it
contains something: those operations would let the program's code decide the test's
judgement (an object equal to everything), so they raise `NotPlainData` and the test fails.

What the program's process sends back (values, the exceptions it raised, the arguments it
changed in place) is hostile input, decoded within limits in the tests' process, where only
builtin types and `Remote`s can come out of it: an exception is re-raised as the builtin
exception class it derives from (ValueError for `class MyError(ValueError)`), never as a
class of the program's; an argument list the program changed in place is copied back into
the test's own list, since `nums.sort()`-style solutions are tested that way.

Wire format: a 4-byte big-endian length, then one `codec` value. Requests are tuples
`(op, ...)`; replies `("ok", value)`, `("ok", value, (args, kwargs))` (arguments after the
call, when the tests asked for them back), `("stop", None)` (an iterator is exhausted) or
`("raise", [builtin exception class names], message)`.
"""

from __future__ import annotations

import builtins
import os
import struct
import types
from collections.abc import Callable
from typing import Any

from rewardsmith.verifiers.code import codec
from rewardsmith.verifiers.code.codec import NotPlainData

_LEN = struct.Struct("!I")
MAX_MESSAGE = codec.MAX_BYTES
MAX_REFS = 100_000  # objects one run may hand out as references
MAX_NAMES = 5_000  # top-level names of a solution made visible to the tests
MAX_TEXT = 2_000  # characters of an exception message
#: descriptors of the channel, the same on both sides: the tests' process writes its requests
#: on its WRITE_FD and reads replies on READ_FD; the program's process the other way round
READ_FD, WRITE_FD = 5, 6


class ProtocolError(RuntimeError):
    """The other side sent something that is not a message within the limits."""


class ProgramGone(RuntimeError):
    """The program's process ended (or stopped answering sensibly): no more calls."""


class ProgramError(Exception):
    """The program raised an exception that is not (derived from) a builtin exception."""


def write_message(fd: int, body: bytes) -> None:
    view = memoryview(_LEN.pack(len(body)) + body)
    while view:
        try:
            n = os.write(fd, view)
        except InterruptedError:
            continue
        view = view[n:]


def _read_exact(fd: int, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        try:
            chunk = os.read(fd, min(n - got, 1 << 20))
        except InterruptedError:
            continue
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_message(fd: int, limit: int = MAX_MESSAGE) -> bytes | None:
    """One message, or None at end of file; ProtocolError past `limit` bytes."""
    head = _read_exact(fd, _LEN.size)
    if head is None:
        return None
    (n,) = _LEN.unpack(head)
    if n > limit:
        raise ProtocolError(f"a message of {n} bytes (more than {limit})")
    body = _read_exact(fd, n)
    if body is None:
        raise ProtocolError("a truncated message")
    return body


def _describe(value: Any) -> str:
    try:
        kind = "class" if isinstance(value, type) else "function" if callable(value) else "object"
        return f"{kind} {getattr(value, '__qualname__', type(value).__qualname__)}"[:200]
    except BaseException:
        return "object"


def _text(exc: BaseException) -> str:
    try:
        text = str(exc)
    except BaseException:
        text = "(unprintable)"
    return text if type(text) is str else "(unprintable)"


def send_go(fd: int) -> None:
    """The tests' process is ready: the program's run may load the solution."""
    write_message(fd, codec.encode(("go",)))


def await_go(fd: int) -> bool:
    """In the program's run, before the solution loads: wait for the tests' process."""
    try:
        body = read_message(fd)
        return body is not None and codec.decode(body) == ("go",)
    except (OSError, ProtocolError, codec.DecodeError):
        return False


# -- the program's side ---------------------------------------------------------------------------


class Server:
    """Answers the tests' requests in the program's process (untrusted: whatever it sends is
    only the program's answer). `resolve(name)` looks a solution name up (the entry point
    may be a method of `class Solution`)."""

    def __init__(self, namespace: dict[str, Any], resolve: Callable[[str], Any]) -> None:
        self.ns, self.resolve = namespace, resolve
        self.table: list[Any] = []

    def _register(self, obj: Any) -> tuple[str, Any]:
        if len(self.table) >= MAX_REFS:
            raise codec.ValueTooLarge(f"more than {MAX_REFS} objects handed to the tests")
        self.table.append(obj)
        return "H", len(self.table) - 1

    def _lookup(self, tag: str, key: Any) -> Any:
        if tag == "n":
            return self.resolve(key)
        if not 0 <= key < len(self.table):
            raise codec.DecodeError(f"no object {key}")
        return self.table[key]

    def manifest(self) -> dict[str, Any]:
        """The solution's top-level names as the tests will see them: plain values by value,
        modules by name (the tests' process imports its own copy), everything else by reference."""
        names: dict[str, Any] = {}
        room = MAX_MESSAGE // 4  # large constants (a sieve of primes) go by reference
        for name, value in list(self.ns.items())[: MAX_NAMES * 2]:
            if type(name) is not str or name.startswith("__") or len(names) >= MAX_NAMES:
                continue
            if isinstance(value, types.ModuleType) and isinstance(getattr(value, "__name__", None), str):
                names[name] = ("module", value.__name__)
                continue
            try:
                room -= len(codec.encode(value, codec.Limits(total_bytes=max(room, 0))))
                names[name] = ("value", value)
            except (NotPlainData, codec.ValueTooLarge):
                names[name] = ("ref", _describe(value))
            except BaseException:
                continue
        return {"names": names}

    def dispatch(self, request: Any) -> tuple[Any, ...]:
        op = request[0]
        if op == "manifest":
            return "ok", self.manifest()
        if op == "call":
            _, target, args, kwargs, sync = request
            value = target(*args, **kwargs)
            return ("ok", value, (args, kwargs)) if sync else ("ok", value)
        if op == "next":
            try:
                return "ok", next(request[1])
            except StopIteration:
                return "stop", None
        obj = request[1]
        if op == "getattr":
            return "ok", getattr(obj, request[2])
        if op == "setattr":
            setattr(obj, request[2], request[3])
            return "ok", None
        if op == "iter":
            return "ok", iter(obj)
        if op == "len":
            return "ok", len(obj)
        if op == "str":
            return "ok", str(obj)
        if op == "repr":
            return "ok", repr(obj)
        if op == "getitem":
            return "ok", obj[request[2]]
        if op == "isinstance":
            return "ok", isinstance(obj, request[2])
        if op == "describe":
            return "ok", codec.describe_type(type(obj))
        raise ValueError(f"unknown request {op!r}")

    def serve(self, rfd: int, wfd: int) -> None:
        """Answer until the tests' process hangs up."""
        while True:
            try:
                body = read_message(rfd)
            except (OSError, ProtocolError):
                return
            if body is None:
                return
            try:
                reply = codec.encode(self.dispatch(codec.decode(body, refs=self._lookup)), refs=self._register)
            except BaseException as exc:
                names = [c.__name__ for c in type(exc).__mro__ if c.__module__ == "builtins"]
                reply = codec.encode(("raise", names[:20], _text(exc)[:MAX_TEXT]))
            try:
                write_message(wfd, reply)
            except OSError:
                return


# -- the tests' side -------------------------------------------------------------------------------

_EXCEPTIONS: dict[str, type[BaseException]] = {
    name: cls
    for name, cls in vars(builtins).items()
    if isinstance(cls, type) and issubclass(cls, Exception) and cls not in (StopIteration, StopAsyncIteration)
}


def exception_from(names: Any, text: Any) -> BaseException:
    """The exception to raise in the tests for one the program raised: the first builtin
    class in its hierarchy (never a class of the program's), with its message."""
    message = text if type(text) is str else ""
    if type(names) in (list, tuple):
        for name in names[:20]:
            cls = _EXCEPTIONS.get(name) if type(name) is str else None
            if cls is None:
                continue
            try:
                return cls(message)
            except Exception:
                continue  # UnicodeDecodeError & co. need more arguments: try its base class
    return ProgramError(f"the program raised a non-builtin exception: {message}")


def _refused(what: str) -> Callable[..., Any]:
    def refuse(self: Remote, *args: Any) -> Any:
        raise NotPlainData(
            f"{what} {self._rs_describe()} that lives in the program: not plain data, and its own code would "
            "decide the test; only plain data (int, float, str, list, dict, ...) is judged outside the program "
            "(type_check=False judges such tests in the program's interpreter)"
        )

    return refuse


class Remote:
    """An object that lives in the program's process (a function, a class, an instance, an
    iterator), seen from the tests' process. See the module docstring for what it allows."""

    __slots__ = ("_rs_conn", "_rs_key", "_rs_what")

    def __init__(self, conn: Connection, key: tuple[str, Any], what: str) -> None:
        object.__setattr__(self, "_rs_conn", conn)
        object.__setattr__(self, "_rs_key", key)
        object.__setattr__(self, "_rs_what", what)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._rs_conn.call(self, args, kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_rs_"):
            raise AttributeError(name)
        return self._rs_conn.request("getattr", self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._rs_conn.request("setattr", self, name, value)

    def __iter__(self) -> Any:
        it = self._rs_conn.request("iter", self)
        return it if type(it) is Remote else iter(it)

    def __next__(self) -> Any:
        return self._rs_conn.request("next", self)

    def __len__(self) -> int:
        n = self._rs_conn.request("len", self)
        if type(n) is not int:
            raise NotPlainData("len() of a program object returned no int")
        return n

    def __getitem__(self, key: Any) -> Any:
        return self._rs_conn.request("getitem", self, key)

    def __str__(self) -> str:
        return self._text("str")

    def __repr__(self) -> str:
        try:
            return self._text("repr")
        except Exception:
            return f"<{self._rs_what} of the program>"

    def _text(self, op: str) -> str:
        text = self._rs_conn.request(op, self)
        if type(text) is not str:
            raise NotPlainData(f"{op}() of a program object returned no str")
        return text

    def _rs_describe(self) -> str:
        what: str = object.__getattribute__(self, "_rs_what")
        if what == "an object":
            try:
                kind = self._rs_conn.request("describe", self)
                what = f"a {kind} object" if type(kind) is str else what
            except Exception:
                pass
        return what[:200]

    def __instancecheck__(self, obj: Any) -> bool:
        return self._rs_conn.request("isinstance", obj, self) is True

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _refused("comparing")
    __hash__ = _refused("hashing")
    __bool__ = _refused("truth-testing")
    __contains__ = _refused("asking what is in")
    __float__ = __int__ = __index__ = __complex__ = __abs__ = __neg__ = __pos__ = _refused("converting")
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _refused("arithmetic with")
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = _refused("arithmetic with")
    __pow__ = __rpow__ = __and__ = __rand__ = __or__ = __ror__ = __xor__ = __rxor__ = _refused("arithmetic with")
    __round__ = __trunc__ = __floor__ = __ceil__ = _refused("rounding")


def _mutable(value: Any, depth: int = 0) -> bool:
    t = type(value)
    if t in (list, dict, set):
        return True
    if t is tuple and depth < 20:
        return any(_mutable(v, depth + 1) for v in value)
    return False


def sync(dst: Any, src: Any, depth: int = 0) -> None:
    """Make the test's own container `dst` hold what the program left in its copy `src`
    (identities of nested lists, dicts and sets are kept: a test may hold a row)."""
    t = type(dst)
    if depth > codec.MAX_DEPTH or type(src) is not t:
        return
    if t is list:
        for i in range(min(len(dst), len(src))):
            if _same_container(dst[i], src[i]):
                sync(dst[i], src[i], depth + 1)
            elif dst[i] is not src[i]:
                dst[i] = src[i]
        del dst[len(src) :]
        dst.extend(src[len(dst) :])
    elif t is dict:
        for k in [k for k in dst if k not in src]:
            del dst[k]
        for k, v in src.items():
            if k in dst and _same_container(dst[k], v):
                sync(dst[k], v, depth + 1)
            else:
                dst[k] = v
    elif t is set:
        dst.clear()
        dst.update(src)
    elif t is tuple and len(dst) == len(src):
        for d, s in zip(dst, src, strict=True):
            if _same_container(d, s) or (type(d) is tuple and type(s) is tuple):
                sync(d, s, depth + 1)


def _same_container(a: Any, b: Any) -> bool:
    return type(a) is type(b) and type(a) in (list, dict, set)


class Connection:
    """The tests' end of the channel to the program's process."""

    def __init__(self, rfd: int, wfd: int) -> None:
        self.rfd, self.wfd = rfd, wfd
        self.gone: str | None = None

    def _encode_ref(self, value: Any) -> tuple[str, Any]:
        if type(value) is Remote and value._rs_conn is self:
            key: tuple[str, Any] = value._rs_key
            return key
        raise NotPlainData(
            f"the test passes {codec.describe_type(type(value))} to the program: only plain data and the "
            "program's own objects cross to its process (type_check=False judges such tests in the program's "
            "interpreter)"
        )

    def _decode_ref(self, tag: str, key: Any) -> Remote:
        return Remote(self, (tag, key), "an object")

    def request(self, *message: Any) -> Any:
        reply = self._round_trip(message)
        if reply[0] == "stop":
            if message[0] == "next":
                raise StopIteration
            raise NotPlainData("the program's process sent something that is not an answer")
        return reply[1]

    def call(self, target: Remote, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        sync_back = any(_mutable(a) for a in args) or any(_mutable(v) for v in kwargs.values())
        reply = self._round_trip(("call", target, args, kwargs, sync_back))
        if reply[0] != "ok":
            raise NotPlainData("the program's process sent something that is not an answer")
        if sync_back and len(reply) == 3 and type(reply[2]) is tuple and len(reply[2]) == 2:
            new_args, new_kwargs = reply[2]
            if type(new_args) in (list, tuple) and len(new_args) == len(args):
                for mine, theirs in zip(args, new_args, strict=True):
                    sync(mine, theirs)
            if type(new_kwargs) is dict:
                for k, v in kwargs.items():
                    if k in new_kwargs:
                        sync(v, new_kwargs[k])
        return reply[1]

    def _round_trip(self, message: tuple[Any, ...]) -> tuple[Any, ...]:
        if self.gone is not None:
            raise ProgramGone(self.gone)
        body = codec.encode(message, refs=self._encode_ref)  # NotPlainData: the test sends what cannot travel
        try:
            write_message(self.wfd, body)
            data = read_message(self.rfd)
        except (OSError, ProtocolError) as exc:
            self.gone = f"the program's process stopped answering ({exc})"
            raise ProgramGone(self.gone) from None
        if data is None:
            self.gone = "the program's process ended"
            raise ProgramGone(self.gone)
        try:
            reply = codec.decode(data, refs=self._decode_ref)
        except codec.DecodeError as exc:
            raise NotPlainData(f"the program's answer is not plain data within limits ({exc})") from None
        if type(reply) is not tuple or len(reply) < 2 or reply[0] not in ("ok", "raise", "stop"):
            raise NotPlainData("the program's process sent something that is not an answer")
        if reply[0] == "raise":
            raise exception_from(reply[1], reply[2] if len(reply) > 2 else "")
        return reply
