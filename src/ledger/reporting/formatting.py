"""Numbers, amounts, figures and dates in the report's languages, formatted by Babel (CLDR).

Pure functions: no clock, no machine locale. Every output depends only on the arguments and on
the CLDR data shipped with Babel, and ``tests/test_formatting.py`` pins the exact strings, so a
CLDR change shows up as a failing test rather than as a silently different report.

Values arrive as decimal strings (``"219949"``, ``"8.55"``, ``"-12000.50"``) and keep every decimal
they were given: the formats below never round and never pad.

CLDR conventions in use (Babel 2.19 / CLDR 47):

* ``fr`` (fr_BE): thousands separator U+202F NARROW NO-BREAK SPACE, decimal comma, euro sign after
  the number with U+00A0 NO-BREAK SPACE: ``219 949 €``.
* ``nl`` (nl_BE): thousands dot, decimal comma, euro sign before the number with U+00A0:
  ``€ 219.949``.
* ``en`` (en_GB): thousands comma, decimal point, euro sign glued before the number: ``€219,949``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from datetime import date as _date
from decimal import Decimal
from typing import Final

from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import format_compact_decimal, format_currency, format_decimal

__all__ = ["LOCALES", "amount", "date", "figure", "instant", "number", "plural"]

LOCALES: Final[dict[str, str]] = {"fr": "fr_BE", "nl": "nl_BE", "en": "en_GB"}

_DECIMAL: Final = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?\Z")
_FRACTION: Final = re.compile(r"\.[0#]+")

# Words in front of the amount for each qualifier of a reported figure.
_QUALIFIERS: Final[dict[str, dict[str, str]]] = {
    "=": {"fr": "", "nl": "", "en": ""},
    ">": {"fr": "plus de ", "nl": "meer dan ", "en": "more than "},
    "<": {"fr": "moins de ", "nl": "minder dan ", "en": "less than "},
    "~": {"fr": "environ ", "nl": "ongeveer ", "en": "about "},
}

# The unit's words after a compact number ("198 millions d'euros"); units missing here are
# never written in words.
_COMPACT_UNITS: Final[dict[str, dict[str, str]]] = {
    "EUR": {"fr": "d'euros", "nl": "euro", "en": "euros"},
}
_COMPACT_FROM: Final = Decimal(1_000_000)


def _locale(lang: str) -> Locale:
    if lang not in LOCALES:
        raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LOCALES)}")
    return Locale.parse(LOCALES[lang])


def _decimal(value: str) -> tuple[Decimal, int]:
    """The value and its number of given decimals."""
    if not isinstance(value, str) or not _DECIMAL.match(value):
        raise ValueError(
            f"{value!r} is not a decimal string; expected digits with an optional '.' part, "
            "e.g. 219949 or -12000.50"
        )
    _, _, fraction = value.partition(".")
    return Decimal(value), len(fraction)


def _with_decimals(pattern: str, decimals: int) -> str:
    """A CLDR number pattern showing exactly ``decimals`` fraction digits."""
    return _FRACTION.sub("." + "0" * decimals if decimals else "", pattern)


def number(value: str, lang: str) -> str:
    """``value`` with the language's grouping and decimal signs, all given decimals kept."""
    locale = _locale(lang)
    parsed, decimals = _decimal(value)
    pattern = locale.decimal_formats[None].pattern
    return format_decimal(parsed, format=_with_decimals(pattern, decimals), locale=locale)


def amount(value: str, unit: str, lang: str) -> str:
    """A euro amount in the language's currency format, or the number followed by ``unit``."""
    locale = _locale(lang)
    parsed, decimals = _decimal(value)
    if unit != "EUR":
        return f"{number(value, lang)} {unit}"
    pattern = locale.currency_formats["standard"].pattern
    return format_currency(
        parsed,
        "EUR",
        format=_with_decimals(pattern, decimals),
        locale=locale,
        currency_digits=False,
    )


def _compact(value: Decimal, unit: str, lang: str, locale: Locale) -> str | None:
    """``value`` in words ("198 millions d'euros") when CLDR can say it exactly, else None.

    The divisor is read from CLDR's long compact patterns the way Babel applies them (the largest
    magnitude not above the value, ``0 million`` → 10**6, ``00 million`` → 10**6 for 10**7, ...);
    the value is written in words only if it is a whole number of that unit.
    """
    words = _COMPACT_UNITS.get(unit, {}).get(lang)
    if words is None or abs(value) < _COMPACT_FROM:
        return None
    patterns = locale.compact_decimal_formats["long"]["other"]
    magnitude = max(int(m) for m in patterns if int(m) <= abs(value))
    pattern = patterns[str(magnitude)].pattern
    digits = pattern.count("0")
    if digits == 0 or pattern == "0" or value % (magnitude // 10 ** (digits - 1)) != 0:
        return None
    words_number = format_compact_decimal(
        int(value), format_type="long", locale=locale, fraction_digits=0
    )
    return f"{words_number} {words}"


def figure(value: str, unit: str, qualifier: str | None, lang: str, *, compact: bool = True) -> str:
    """The phrase for a reported figure, e.g. ``plus de 198 millions d'euros``.

    ``qualifier`` is ``=`` (or None), ``>``, ``<`` or ``~``. With ``compact``, euro amounts of a
    million or more that are a whole number of millions (billions, ...) are written in words;
    every other value is written in full with :func:`amount`.
    """
    locale = _locale(lang)
    parsed, _ = _decimal(value)
    prefixes = _QUALIFIERS.get("=" if qualifier is None else qualifier)
    if prefixes is None:
        raise ValueError(
            f"unknown qualifier {qualifier!r}; expected one of {', '.join(_QUALIFIERS)} or None"
        )
    words = _compact(parsed, unit, lang, locale) if compact else None
    return prefixes[lang] + (words if words is not None else amount(value, unit, lang))


def plural(value: str | int, lang: str) -> str:
    """The CLDR plural category of ``value`` in ``lang`` (``one``, ``other``…): which form of a
    word goes with it. French counts 0 and 1 (and 1,5) as ``one``, English and Dutch only 1."""
    number = Decimal(value) if isinstance(value, str) else value
    return str(_locale(lang).plural_form(number))


def date(iso: str, lang: str) -> str:
    """A ``YYYY-MM-DD`` date in the language's long format: ``21 juin 2022``."""
    locale = _locale(lang)
    try:
        if not isinstance(iso, str) or len(iso) != 10:
            raise ValueError("expected YYYY-MM-DD")
        day = _date.fromisoformat(iso)
    except ValueError as e:
        raise ValueError(f"{iso!r} is not a date; expected YYYY-MM-DD, e.g. 2022-06-21") from e
    return format_date(day, "long", locale=locale)


def instant(iso_z: str, lang: str) -> str:
    """An ISO 8601 instant as its UTC date and minute: ``2 mars 2026, 14:05 UTC``.

    Seconds are dropped (not rounded). A timestamp without an offset is refused.
    """
    locale = _locale(lang)
    try:
        moment = datetime.fromisoformat(iso_z) if isinstance(iso_z, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValueError(
            f"{iso_z!r} is not an instant; expected an ISO 8601 UTC timestamp, "
            "e.g. 2026-03-02T14:05:09.250000Z"
        )
    utc = moment.astimezone(UTC)
    day = format_date(utc.date(), "long", locale=locale)
    return f"{day}, {format_time(utc.time(), 'HH:mm', locale=locale)} UTC"
