"""Parsing of the values people type: decimals, dates, years, enterprise numbers, instants.

Each parser returns the canonical string stored in payloads or raises ``InputError`` naming the
field, the value and what is expected.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from ledger.errors import InputError

_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?\Z")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
MAX_DECIMAL_DIGITS = 40


# C0 controls, DEL, C1 controls, and the bidirectional embeddings, overrides and isolates
# (U+202A-U+202E, U+2066-U+2069): in a name or a place they hide or reorder what a reader sees.
_NOT_IN_A_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def line_problem(text: str) -> str | None:
    """Why ``text`` cannot stand as a one-line field (a name, a unit, a place), or None."""
    found = _NOT_IN_A_LINE.search(text)
    if found is None:
        return None
    return (
        f"{text!r} holds the character U+{ord(found.group()):04X} at {found.start()}: a "
        "one-line field takes no control or bidirectional-override characters"
    )


def _no_decimal_comma(field: str, text: str, value: str) -> None:
    """Refuse ``value`` (``text`` as typed, trimmed) written with a decimal comma, saying how to
    write it."""
    if "," in value and _DECIMAL.match(value.replace(",", ".")):
        raise InputError(field, f"{text!r} uses a decimal comma; write {value.replace(',', '.')!r}")


def decimal(field: str, text: str) -> str:
    """A decimal amount as typed, e.g. ``198000000`` or ``-12.50``: kept digit for digit."""
    value = text.strip()
    _no_decimal_comma(field, text, value)
    if not _DECIMAL.match(value) or value == "-0":
        raise InputError(
            field,
            f"{text!r} is not a decimal number; expected digits with an optional '.' part, "
            "e.g. 219949 or 0.06",
        )
    if sum(c.isdigit() for c in value) > MAX_DECIMAL_DIGITS:
        raise InputError(field, f"{text!r} has more than {MAX_DECIMAL_DIGITS} digits")
    return value


def percent(field: str, text: str) -> str:
    """A rate as people write it, ``7``, ``7%`` or ``7 %`` all meaning 7 %: the number of
    percent, kept digit for digit."""
    value = text.strip().removesuffix("%").rstrip()
    _no_decimal_comma(field, text, value)
    if not _DECIMAL.match(value) or value.startswith("-"):
        raise InputError(
            field,
            f"{text!r} is not a rate; expected the number of percent, e.g. 6 for 6 % (or 6%), "
            "0 for none",
        )
    return decimal(field, value)


MAX_RUN = 1000  # events one command may name at once: a typo in a range is not a purge


def seq_run(field: str, text: str) -> list[int]:
    """An event's sequence number, ``55``, or a run of them, ``55..62`` (both ends included)."""
    first, sep, last = text.strip().partition("..")
    try:
        start, end = int(first), int(last) if sep else int(first)
    except ValueError:
        raise InputError(field, f"{text!r} is not an event number or a run like 55..62") from None
    if start < 1 or end < start:
        raise InputError(field, f"{text!r}: expected 1 <= first <= last, e.g. 55..62")
    if end - start + 1 > MAX_RUN:
        raise InputError(field, f"{text!r} names {end - start + 1} events; at most {MAX_RUN}")
    return list(range(start, end + 1))


def iso_date(field: str, text: str) -> str:
    """A calendar date ``YYYY-MM-DD``."""
    if not _DATE.match(text):
        raise InputError(field, f"{text!r} is not a date; expected YYYY-MM-DD, e.g. 2022-06-21")
    try:
        date.fromisoformat(text)
    except ValueError as e:
        raise InputError(field, f"{text!r} is not a real date ({e})") from e
    return text


def year(field: str, value: int) -> int:
    """A financial year between 1900 and 2999."""
    if not 1900 <= value <= 2999:
        raise InputError(field, f"{value} is not a plausible year; expected 1900-2999")
    return value


def enterprise_number(field: str, text: str) -> str:
    """A Belgian enterprise number (BCE/KBO), returned as ``0123.456.749``.

    Ten digits, the first 0 or 1, the last two equal to 97 minus the first eight modulo 97;
    dots, spaces and a ``BE`` prefix are accepted on input.
    """
    digits = re.sub(r"[.\s]", "", text.strip().upper().removeprefix("BE"))
    if not re.fullmatch(r"[01][0-9]{9}", digits):
        raise InputError(
            field,
            f"{text!r} is not an enterprise number; expected 10 digits starting with 0 or "
            "1, e.g. 0123.456.749",
        )
    if 97 - int(digits[:8]) % 97 != int(digits[8:]):
        raise InputError(field, f"{text!r} fails the modulo-97 check digits; check for a typo")
    return f"{digits[:4]}.{digits[4:7]}.{digits[7:]}"


def format_instant(moment: datetime) -> str:
    """The ``recorded_at`` spelling: UTC, microseconds, ``Z``, e.g. 2026-11-28T14:30:02.000000Z."""
    if moment.tzinfo is None:
        raise ValueError("recorded_at needs an aware datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
