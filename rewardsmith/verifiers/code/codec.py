"""The wire format of plain data between the sandboxed program and whoever judges it.

What a program sends back (return values, error texts, in-process verdicts) is hostile input:
it may be deeper, larger or stranger than any honest answer, crafted to crash, exhaust or
slow down whoever reads it. So the format carries only exact builtin types (a subclass of
`int` or `str` cannot travel: it is not plain data) and `decode` is iterative (no recursion
to exhaust) with hard limits, checked *before* anything is allocated: depth, number of
values, size of one int, total bytes, and the memory the decoded objects take (`Budget`:
a million empty sets are 2 MB on the wire and 200 MB in memory). Sets and dicts whose
members share one hash value (multiples of 2**61-1 all hash to 0, which makes building the
set quadratic) are refused before they are built. Anything over a limit is a `DecodeError`,
which the verifier scores as the program's failure (0 with a reason), never as an
infrastructure error.

Between the tests' process and the program's process (`rpc`), values may also carry
*references* to objects that live in the program's process (tag `H`: an id in its table,
tag `n`: one of its top-level names); they decode only where a `refs` hook is given.

Format: one tag byte per value; ints are two's complement big-endian with a length, floats
IEEE-754 doubles (exact: NaN, -0.0 and every bit survive), strings UTF-8 (surrogates kept),
containers a count followed by their items.

>>> decode(encode({"a": [1, 2.5, (None, True)], "b": {b"x"}}))
{'a': [1, 2.5, (None, True)], 'b': {b'x'}}
>>> decode(b"l\\x05N")  # five items announced, one present
Traceback (most recent call last):
...
rewardsmith.verifiers.code.codec.DecodeError: bad length at byte 1
"""

from __future__ import annotations

import reprlib
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

MAX_DEPTH = 100
MAX_INT_BYTES = 64 * 1024  # ~158,000 decimal digits
MAX_NODES = 500_000
MAX_BYTES = 4 << 20
#: memory the decoded objects of one message (or one run, with a shared `Budget`) may take
MAX_OBJECT_BYTES = 32 << 20
#: members of one set (keys of one dict) that may share a hash value
MAX_SAME_HASH = 16

_DOUBLE = struct.Struct("!d")
_COMPLEX = struct.Struct("!dd")


class NotPlainData(TypeError):
    """A value is not built only from exact builtin types (it cannot be sent, nor compared safely)."""


class ValueTooLarge(ValueError):
    """A value is deeper or bigger than the wire format carries."""


class DecodeError(ValueError):
    """Bytes from the sandbox that are not a valid value within the limits."""


@dataclass(frozen=True, slots=True)
class Limits:
    depth: int = MAX_DEPTH
    nodes: int = MAX_NODES
    int_bytes: int = MAX_INT_BYTES
    total_bytes: int = MAX_BYTES
    object_bytes: int = MAX_OBJECT_BYTES
    same_hash: int = MAX_SAME_HASH


class Budget:
    """Memory that decoded objects may still take; share one across the messages of a run."""

    __slots__ = ("left",)

    def __init__(self, object_bytes: int = MAX_OBJECT_BYTES) -> None:
        self.left = object_bytes

    def charge(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise DecodeError("the decoded values would take more memory than allowed")


# Estimated sizes of decoded objects (CPython, 64-bit), charged before they are built.
_SIZE_INT, _SIZE_STR, _SIZE_BYTES, _SIZE_FLOAT, _SIZE_COMPLEX = 32, 80, 40, 24, 32
_SIZE_LIST, _SIZE_TUPLE, _SIZE_SET, _SIZE_DICT, _PER_ITEM, _PER_HASHED = 56, 40, 216, 64, 8, 48
_SIZE_REF = 96  # an rpc.Remote and its key


def check_hashes(keys: Iterable[Any], limit: int = MAX_SAME_HASH) -> None:
    """Refuse members crafted to share one hash value before a set or dict is built of them:
    building it would take time quadratic in their number. O(n); TypeError for unhashables."""
    counts: dict[int, int] = {}  # hash values are ints, which hash to themselves: no collisions here
    get = counts.get
    for k in keys:
        h = hash(k)
        c = get(h, 0) + 1
        if c > limit:
            raise ValueTooLarge(f"more than {limit} members share one hash value (crafted to collide)")
        counts[h] = c


def safe_set(items: Iterable[Any] = (), *, frozen: bool = False) -> Any:
    """set()/frozenset() of values a program controls, in linear time (see `check_hashes`)."""
    items = list(items)
    if len(items) > MAX_SAME_HASH:
        check_hashes(items)
    return frozenset(items) if frozen else set(items)


# Bound by identity at import time: the sandboxed program may patch `type`, `isinstance` or
# a class's metaclass `__eq__`; the encoder runs in its process, after its code.
_type, _id, _len = type, id, len
_int_to_bytes, _str_encode, _pack_d, _pack_dd = int.to_bytes, str.encode, _DOUBLE.pack, _COMPLEX.pack
_bit_length, _dict_items, _list_append = int.bit_length, dict.items, list.append
_bytes_join = b"".join
_NONE, _TRUE, _FALSE = b"N", b"T", b"F"
_SEQ_TAGS = {id(list): b"l", id(tuple): b"t", id(set): b"S", id(frozenset): b"Z"}
_DICT_ID, _INT_ID, _FLOAT_ID, _STR_ID, _BYTES_ID, _BOOL_ID, _COMPLEX_ID, _NONE_ID = map(
    id, (dict, int, float, str, bytes, bool, complex, type(None))
)

#: `refs` for `encode`: a non-plain value -> ("H", id) or ("n", name), or NotPlainData
EncodeRefs = Callable[[Any], tuple[str, Any]]
#: `refs` for `decode`: ("H", id) or ("n", name) -> the object it stands for
DecodeRefs = Callable[[str, Any], Any]


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


_varint = varint


def describe_type(t: Any) -> str:
    try:
        return f"{t.__module__}.{t.__qualname__}"
    except Exception:
        return "an object of unknown type"


def encode(value: Any, limits: Limits = Limits(), *, refs: EncodeRefs | None = None) -> bytes:
    """Plain data to bytes. NotPlainData for any other type (exact types, not isinstance)
    unless `refs` names it; ValueTooLarge past the limits (so a program cannot make its own
    report unreadable)."""
    out: list[bytes] = []
    budget = [limits.total_bytes]

    def put(chunk: bytes) -> None:
        budget[0] -= _len(chunk)
        if budget[0] < 0:
            raise ValueTooLarge(f"value larger than {limits.total_bytes} bytes")
        _list_append(out, chunk)

    def walk(v: Any, depth: int) -> None:
        tid = _id(_type(v))
        if tid == _NONE_ID:
            put(_NONE)
        elif tid == _BOOL_ID:
            put(_TRUE if v is True else _FALSE)
        elif tid == _INT_ID:
            n = (_bit_length(v) + 8) // 8
            if n > limits.int_bytes:
                raise ValueTooLarge(f"int of more than {limits.int_bytes * 8} bits")
            put(b"i" + varint(n) + _int_to_bytes(v, n, "big", signed=True))
        elif tid == _FLOAT_ID:
            put(b"f" + _pack_d(v))
        elif tid == _STR_ID:
            data = _str_encode(v, "utf-8", "surrogatepass")
            put(b"s" + varint(_len(data)) + data)
        elif tid == _BYTES_ID:
            put(b"y" + varint(_len(v)) + v)
        elif tid == _COMPLEX_ID:
            put(b"c" + _pack_dd(v.real, v.imag))
        elif tid in _SEQ_TAGS or tid == _DICT_ID:
            if depth >= limits.depth:
                raise ValueTooLarge(f"value nested more than {limits.depth} levels deep")
            if tid == _DICT_ID:
                items = list(_dict_items(v))
                put(b"d" + varint(_len(items)))
                for k, x in items:
                    walk(k, depth + 1)
                    walk(x, depth + 1)
            else:
                items = list(v)
                put(_SEQ_TAGS[tid] + varint(_len(items)))
                for x in items:
                    walk(x, depth + 1)
        elif refs is not None:
            tag, key = refs(v)
            if tag == "H":
                put(b"H" + varint(key))
            else:
                data = _str_encode(key, "utf-8", "surrogatepass")
                put(b"n" + varint(_len(data)) + data)
        else:
            raise NotPlainData(f"{describe_type(_type(v))}, not plain data (int, float, str, list, dict, ...)")

    walk(value, 0)
    return _bytes_join(out)


def decode(
    data: bytes, limits: Limits = Limits(), *, refs: DecodeRefs | None = None, budget: Budget | None = None
) -> Any:
    """Bytes from the sandbox to plain data, iteratively and within `limits` (DecodeError
    otherwise). `budget`: the memory decoded objects may take, shared across messages."""
    if len(data) > limits.total_bytes:
        raise DecodeError(f"message of {len(data)} bytes exceeds {limits.total_bytes}")
    if budget is None:
        budget = Budget(limits.object_bytes)
    charge = budget.charge
    view = memoryview(data)
    pos = 0
    nodes = 0
    end = len(data)

    def number() -> int:
        nonlocal pos
        n = shift = 0
        start = pos
        while True:
            if pos >= end or shift > 35:
                raise DecodeError(f"bad length at byte {start}")
            b = data[pos]
            pos += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n

    def length() -> int:
        start = pos
        n = number()
        if n > end - pos:
            raise DecodeError(f"bad length at byte {start}")
        return n

    def text(n: int) -> str:
        try:
            return str(view[pos : pos + n], "utf-8", "surrogatepass")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"invalid text ({exc.reason})") from None

    # Stack of open containers: [tag, remaining items, collected items].
    stack: list[list[Any]] = []
    while True:
        if pos >= end:
            raise DecodeError("truncated value")
        nodes += 1
        if nodes > limits.nodes:
            raise DecodeError(f"more than {limits.nodes} values")
        tag = data[pos]
        pos += 1
        value: Any
        if tag == 0x4E:  # N
            value = None
        elif tag == 0x54:  # T
            value = True
        elif tag == 0x46:  # F
            value = False
        elif tag == 0x69:  # i
            n = length()
            if n > limits.int_bytes:
                raise DecodeError(f"int of more than {limits.int_bytes * 8} bits")
            charge(_SIZE_INT + n)
            value = int.from_bytes(view[pos : pos + n], "big", signed=True)
            pos += n
        elif tag == 0x66:  # f
            if pos + 8 > end:
                raise DecodeError("truncated float")
            charge(_SIZE_FLOAT)
            value = _DOUBLE.unpack_from(data, pos)[0]
            pos += 8
        elif tag == 0x63:  # c
            if pos + 16 > end:
                raise DecodeError("truncated complex")
            charge(_SIZE_COMPLEX)
            re, im = _COMPLEX.unpack_from(data, pos)
            value = complex(re, im)
            pos += 16
        elif tag == 0x73:  # s
            n = length()
            charge(_SIZE_STR + n)
            value = text(n)
            pos += n
        elif tag == 0x79:  # y
            n = length()
            charge(_SIZE_BYTES + n)
            value = bytes(view[pos : pos + n])
            pos += n
        elif tag in (0x48, 0x6E):  # H n: references (only between the tests' and the program's process)
            if refs is None:
                raise DecodeError(f"unknown tag {tag!r} at byte {pos - 1}")
            charge(_SIZE_REF)
            if tag == 0x48:
                value = refs("H", number())
            else:
                n = length()
                key = text(n)
                pos += n
                value = refs("n", key)
        elif tag in (0x6C, 0x74, 0x53, 0x5A, 0x64):  # l t S Z d
            if len(stack) >= limits.depth:
                raise DecodeError(f"value nested more than {limits.depth} levels deep")
            count = length()
            if tag == 0x6C:
                charge(_SIZE_LIST + _PER_ITEM * count)
            elif tag == 0x74:
                charge(_SIZE_TUPLE + _PER_ITEM * count)
            else:
                charge((_SIZE_SET if tag != 0x64 else _SIZE_DICT) + _PER_HASHED * count)
            items = count * 2 if tag == 0x64 else count
            if items:
                stack.append([tag, items, []])
                continue
            value = _build(tag, [], limits)
        else:
            raise DecodeError(f"unknown tag {tag!r} at byte {pos - 1}")
        # Attach the finished value to its parents, closing every container it completes.
        while True:
            if not stack:
                if pos != end:
                    raise DecodeError(f"{end - pos} unexpected bytes after the value")
                return value
            top = stack[-1]
            top[2].append(value)
            top[1] -= 1
            if top[1]:
                break
            stack.pop()
            value = _build(top[0], top[2], limits)


def _build(tag: int, items: list[Any], limits: Limits) -> Any:
    if tag == 0x6C:
        return items
    if tag == 0x74:
        return tuple(items)
    try:
        keys = items if tag != 0x64 else items[::2]
        if len(keys) > limits.same_hash:
            check_hashes(keys, limits.same_hash)
        if tag == 0x53:
            return set(items)
        if tag == 0x5A:
            return frozenset(items)
        return dict(zip(items[::2], items[1::2], strict=True))
    except ValueTooLarge as exc:
        raise DecodeError(f"invalid container: {exc}") from None
    except TypeError as exc:  # an unhashable member of a set or dict key
        raise DecodeError(f"invalid container ({exc})") from None


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlong = 6, 400, 200, 400
_REPR.maxlist = _REPR.maxtuple = _REPR.maxset = _REPR.maxfrozenset = _REPR.maxdict = 40


def safe_repr(value: Any, limit: int = 200) -> str:
    """repr for messages: never raises (ints past Python's digit limit), never huge, and
    never walks more of a large value than it shows."""
    try:
        if isinstance(value, str):
            text = value[: limit + 1]
        elif type(value) is int and value.bit_length() > 4000:
            text = f"<int of {value.bit_length()} bits>"
        else:
            text = _REPR.repr(value)
    except Exception:
        text = "<unprintable value>"
    return text if len(text) <= limit else text[:limit] + "…"
