"""Canonical bytes, format v1: the bytes that are signed, hashed and stored, frozen forever.

UTF-8 JSON, object keys sorted, no insignificant whitespace, produced by orjson with
``OPT_SORT_KEYS``. Values are restricted so that the result is also RFC 8785 (JCS) output and any
JCS implementation reproduces it byte for byte:

- objects with keys matching ``[a-z][a-z0-9_]*`` (so UTF-16 and code-point key orders agree);
- strings of valid Unicode (no lone surrogates), stored exactly as given, never normalised;
- integers within ±(2**53 - 1); ``true``, ``false``, ``null``; arrays;
- no floating-point numbers at all: amounts travel as decimal strings;
- nesting at most ``MAX_DEPTH`` deep.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

MAX_DEPTH = 32
MAX_SAFE_INTEGER = 2**53 - 1
_KEY = re.compile(r"[a-z][a-z0-9_]*\Z")


class CanonicalError(ValueError):
    """A value outside the canonical domain, or bytes that are not canonical."""


Path = tuple[object, ...]  # the way from the root to a value, spelled out only in errors


def _where(path: Path) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def check(value: Any, path: Path = ()) -> None:
    """Raise ``CanonicalError`` unless ``value`` is in the canonical domain; ``path`` says where
    it sits in its document (for the depth limit and the errors)."""
    # On the hot path of every append and audit: dispatch on the exact type, remember keys
    # already found good, and spell a path out only when raising.
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return
    if kind is int:
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise CanonicalError(f"{_where(path)}: integer {value} outside ±(2**53-1)")
        return
    if len(path) >= MAX_DEPTH and kind in (dict, list):
        raise CanonicalError(f"{_where(path)}: nested deeper than {MAX_DEPTH} levels")
    if kind is dict:
        for key, item in value.items():
            if key not in _good_keys:
                if not isinstance(key, str) or not _KEY.match(key):
                    raise CanonicalError(
                        f"{_where(path)}: key {key!r} does not match [a-z][a-z0-9_]*"
                    )
                if len(_good_keys) < 10_000:
                    _good_keys.add(key)
            item_kind = type(item)
            if item_kind is str:
                continue
            if item_kind is int and -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                continue  # the commonest members, checked without a call
            check(item, (*path, key))
        return
    if kind is list:
        for i, item in enumerate(value):
            if type(item) is not str:
                check(item, (*path, i))
        return
    if isinstance(value, float):
        raise CanonicalError(
            f"{_where(path)}: floating-point number {value!r}; use a decimal string"
        )
    raise CanonicalError(f"{_where(path)}: {kind.__name__} is not a JSON value")


_good_keys: set[str] = set()


def encode(value: Any) -> bytes:
    """Canonical bytes of ``value``. Raises ``CanonicalError`` outside the canonical domain."""
    check(value, ())
    return encode_checked(value)


def encode_checked(value: Any) -> bytes:
    """Canonical bytes of ``value``, whose domain the caller has checked (with ``check``, or
    partly by a validation of its own): the hot paths' way not to check the same thing twice."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError as e:  # lone surrogates
        raise CanonicalError(f"$: {e}") from e


def decode(data: bytes) -> Any:
    """Parse ``data`` and return its value, requiring that it is exactly canonical.

    Raises ``CanonicalError`` when the bytes are not JSON, hold a value outside the domain, or
    differ from the canonical encoding of what they hold (whitespace, key order, duplicate keys,
    escapes, number spelling).
    """
    value = parse(data)
    again = encode(value)
    if again != data:
        raise CanonicalError(_first_difference(data, again))
    return value


def parse(data: bytes) -> Any:
    """The value ``data`` holds, not yet checked canonical (``decode`` checks it). Raises
    ``CanonicalError`` when the bytes are not JSON."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise CanonicalError(f"not JSON: {e}") from e


def _first_difference(got: bytes, canonical: bytes) -> str:
    at = next(
        (i for i, (a, b) in enumerate(zip(got, canonical, strict=False)) if a != b),
        min(len(got), len(canonical)),
    )
    return (
        f"not in canonical form from byte {at} "
        f"(got {got[at : at + 16]!r}, expected {canonical[at : at + 16]!r})"
    )
