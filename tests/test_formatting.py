"""Exact outputs of ledger.formatting: they pin Babel's CLDR data for fr_BE, nl_BE and en_GB.

If a Babel upgrade brings new CLDR conventions these tests fail on purpose: check the new strings
against Belgian usage, then update the expectations (and the report fixtures) together.

Separators as pinned here:
  fr (fr_BE): thousands U+202F NARROW NO-BREAK SPACE, decimal comma, "219 949 €" with U+00A0
  nl (nl_BE): thousands ".", decimal comma, "€ 219.949" with U+00A0
  en (en_GB): thousands ",", decimal point, "€219,949"
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ledger.reporting import formatting
from ledger.reporting.formatting import LOCALES, amount, date, figure, instant, number

NNBSP = "\u202f"  # narrow no-break space: French thousands separator in CLDR
NBSP = "\u00a0"  # no-break space: between number and euro sign (fr, nl)

CASES: list[tuple[Callable[..., str], tuple[Any, ...], dict[str, str]]] = [
    # number: grouping and decimals, all given decimals kept (trailing zeros too)
    (number, ("219949",), {"fr": f"219{NNBSP}949", "nl": "219.949", "en": "219,949"}),
    (number, ("21585",), {"fr": f"21{NNBSP}585", "nl": "21.585", "en": "21,585"}),
    (number, ("1000",), {"fr": f"1{NNBSP}000", "nl": "1.000", "en": "1,000"}),
    (number, ("999",), {"fr": "999", "nl": "999", "en": "999"}),
    (number, ("0",), {"fr": "0", "nl": "0", "en": "0"}),
    (number, ("8.55",), {"fr": "8,55", "nl": "8,55", "en": "8.55"}),
    (number, ("0.06",), {"fr": "0,06", "nl": "0,06", "en": "0.06"}),
    (number, ("-0.5",), {"fr": "-0,5", "nl": "-0,5", "en": "-0.5"}),
    (
        number,
        ("-12000.50",),
        {"fr": f"-12{NNBSP}000,50", "nl": "-12.000,50", "en": "-12,000.50"},
    ),
    (
        number,
        ("1234567.891",),
        {"fr": f"1{NNBSP}234{NNBSP}567,891", "nl": "1.234.567,891", "en": "1,234,567.891"},
    ),
    (
        number,
        ("198000000",),
        {"fr": f"198{NNBSP}000{NNBSP}000", "nl": "198.000.000", "en": "198,000,000"},
    ),
    # amount: the currency format of CLDR, decimals only when given
    (
        amount,
        ("219949", "EUR"),
        {"fr": f"219{NNBSP}949{NBSP}€", "nl": f"€{NBSP}219.949", "en": "€219,949"},
    ),
    (
        amount,
        ("1001063", "EUR"),
        {"fr": f"1{NNBSP}001{NNBSP}063{NBSP}€", "nl": f"€{NBSP}1.001.063", "en": "€1,001,063"},
    ),
    (amount, ("8.55", "EUR"), {"fr": f"8,55{NBSP}€", "nl": f"€{NBSP}8,55", "en": "€8.55"}),
    (
        amount,
        ("-12000.50", "EUR"),
        {
            "fr": f"-12{NNBSP}000,50{NBSP}€",
            "nl": f"€{NBSP}-12.000,50",
            "en": "-€12,000.50",
        },
    ),
    (amount, ("0", "EUR"), {"fr": f"0{NBSP}€", "nl": f"€{NBSP}0", "en": "€0"}),
    (
        amount,
        ("21585", "membres"),
        {"fr": f"21{NNBSP}585 membres", "nl": "21.585 membres", "en": "21,585 membres"},
    ),
    (amount, ("8.5", "%"), {"fr": "8,5 %", "nl": "8,5 %", "en": "8.5 %"}),
    # figure: qualifiers and compact words for whole millions / billions of euros
    (
        figure,
        ("198000000", "EUR", ">"),
        {
            "fr": "plus de 198 millions d'euros",
            "nl": "meer dan 198 miljoen euro",
            "en": "more than 198 million euros",
        },
    ),
    (
        figure,
        ("1000000", "EUR", None),
        {"fr": "1 million d'euros", "nl": "1 miljoen euro", "en": "1 million euros"},
    ),
    (
        figure,
        ("7000000", "EUR", "~"),
        {
            "fr": "environ 7 millions d'euros",
            "nl": "ongeveer 7 miljoen euro",
            "en": "about 7 million euros",
        },
    ),
    (
        figure,
        ("2000000000", "EUR", "<"),
        {
            "fr": "moins de 2 milliards d'euros",
            "nl": "minder dan 2 miljard euro",
            "en": "less than 2 billion euros",
        },
    ),
    (
        figure,
        ("1000000000", "EUR", "="),
        {"fr": "1 milliard d'euros", "nl": "1 miljard euro", "en": "1 billion euros"},
    ),
    (
        figure,
        ("198000000.00", "EUR", ">"),
        {
            "fr": "plus de 198 millions d'euros",
            "nl": "meer dan 198 miljoen euro",
            "en": "more than 198 million euros",
        },
    ),
    # not a whole number of millions (billions): digits in full
    (
        figure,
        ("1001063", "EUR", "="),
        {"fr": f"1{NNBSP}001{NNBSP}063{NBSP}€", "nl": f"€{NBSP}1.001.063", "en": "€1,001,063"},
    ),
    (
        figure,
        ("2500000000", "EUR", "<"),
        {
            "fr": f"moins de 2{NNBSP}500{NNBSP}000{NNBSP}000{NBSP}€",
            "nl": f"minder dan €{NBSP}2.500.000.000",
            "en": "less than €2,500,000,000",
        },
    ),
    (
        figure,
        ("198000000.5", "EUR", ">"),
        {
            "fr": f"plus de 198{NNBSP}000{NNBSP}000,5{NBSP}€",
            "nl": f"meer dan €{NBSP}198.000.000,5",
            "en": "more than €198,000,000.5",
        },
    ),
    # under a million: digits in full
    (
        figure,
        ("999999", "EUR", ">"),
        {
            "fr": f"plus de 999{NNBSP}999{NBSP}€",
            "nl": f"meer dan €{NBSP}999.999",
            "en": "more than €999,999",
        },
    ),
    (
        figure,
        ("219949", "EUR", "="),
        {"fr": f"219{NNBSP}949{NBSP}€", "nl": f"€{NBSP}219.949", "en": "€219,949"},
    ),
    # other units are never written in words
    (
        figure,
        ("2000000", "membres", "~"),
        {
            "fr": f"environ 2{NNBSP}000{NNBSP}000 membres",
            "nl": "ongeveer 2.000.000 membres",
            "en": "about 2,000,000 membres",
        },
    ),
    (
        figure,
        ("408", "sessions", "<"),
        {
            "fr": "moins de 408 sessions",
            "nl": "minder dan 408 sessions",
            "en": "less than 408 sessions",
        },
    ),
    # dates
    (date, ("2022-06-21",), {"fr": "21 juin 2022", "nl": "21 juni 2022", "en": "21 June 2022"}),
    (
        date,
        ("2025-01-01",),
        {"fr": "1 janvier 2025", "nl": "1 januari 2025", "en": "1 January 2025"},
    ),
    (
        date,
        ("2024-02-29",),
        {"fr": "29 février 2024", "nl": "29 februari 2024", "en": "29 February 2024"},
    ),
    # instants: UTC, minute precision (seconds dropped, not rounded)
    (
        instant,
        ("2026-03-02T14:05:09.250000Z",),
        {
            "fr": "2 mars 2026, 14:05 UTC",
            "nl": "2 maart 2026, 14:05 UTC",
            "en": "2 March 2026, 14:05 UTC",
        },
    ),
    (
        instant,
        ("2026-03-02T09:07:59.999999Z",),
        {
            "fr": "2 mars 2026, 09:07 UTC",
            "nl": "2 maart 2026, 09:07 UTC",
            "en": "2 March 2026, 09:07 UTC",
        },
    ),
    (
        instant,
        ("2026-01-01T00:30:00+01:00",),
        {
            "fr": "31 décembre 2025, 23:30 UTC",
            "nl": "31 december 2025, 23:30 UTC",
            "en": "31 December 2025, 23:30 UTC",
        },
    ),
]


@pytest.mark.parametrize(
    ("function", "args", "lang", "expected"),
    [
        pytest.param(function, args, lang, expected, id=f"{function.__name__}-{args}-{lang}")
        for function, args, outputs in CASES
        for lang, expected in outputs.items()
    ],
)
def test_exact_output(
    function: Callable[..., str], args: tuple[Any, ...], lang: str, expected: str
) -> None:
    assert function(*args, lang) == expected


def test_every_case_covers_every_language() -> None:
    for _, _, outputs in CASES:
        assert sorted(outputs) == sorted(LOCALES)


def test_locales() -> None:
    assert LOCALES == {"fr": "fr_BE", "nl": "nl_BE", "en": "en_GB"}


def test_seed_phrasing() -> None:
    """The seed report: "le chiffre d'affaires ... de plus de 198 millions d'euros"."""
    assert figure("198000000", "EUR", ">", "fr") == "plus de 198 millions d'euros"
    assert figure("198000000", "EUR", ">", "fr", compact=False) == (
        f"plus de 198{NNBSP}000{NNBSP}000{NBSP}€"
    )


def test_compact_off_keeps_digits() -> None:
    assert figure("1000000", "EUR", "=", "en", compact=False) == "€1,000,000"
    assert figure("7000000", "EUR", "~", "nl", compact=False) == f"ongeveer €{NBSP}7.000.000"


def test_negative_compact() -> None:
    assert figure("-3000000", "EUR", None, "fr") == "-3 millions d'euros"


def test_independent_of_default_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("LANG", "LC_ALL", "LC_NUMERIC", "LC_TIME", "LANGUAGE"):
        monkeypatch.setenv(variable, "de_DE.UTF-8")
    assert number("219949.5", "fr") == f"219{NNBSP}949,5"
    assert amount("219949", "EUR", "en") == "€219,949"
    assert date("2022-06-21", "nl") == "21 juni 2022"


@pytest.mark.parametrize(
    "call",
    [
        lambda lang: number("1", lang),
        lambda lang: amount("1", "EUR", lang),
        lambda lang: figure("1", "EUR", None, lang),
        lambda lang: date("2022-06-21", lang),
        lambda lang: instant("2026-03-02T14:05:09Z", lang),
    ],
    ids=["number", "amount", "figure", "date", "instant"],
)
@pytest.mark.parametrize("lang", ["de", "fr_BE", "FR", "", "fr-BE"])
def test_unknown_language(call: Callable[[str], str], lang: str) -> None:
    with pytest.raises(ValueError, match="unknown language"):
        call(lang)


@pytest.mark.parametrize(
    "value",
    ["", "1,5", "1.", ".5", "+1", "1e6", "01", "1 000", "NaN", "Infinity", " 1", "1\n", "--1"],
)
def test_not_a_decimal(value: str) -> None:
    for call in (
        lambda: number(value, "fr"),
        lambda: amount(value, "EUR", "nl"),
        lambda: figure(value, "EUR", ">", "en"),
    ):
        with pytest.raises(ValueError, match="is not a decimal string"):
            call()


def test_not_a_string() -> None:
    with pytest.raises(ValueError, match="is not a decimal string"):
        number(219949, "fr")  # type: ignore[arg-type]


@pytest.mark.parametrize("qualifier", ["", ">=", "≈", "about"])
def test_unknown_qualifier(qualifier: str) -> None:
    with pytest.raises(ValueError, match="unknown qualifier"):
        figure("1", "EUR", qualifier, "fr")


@pytest.mark.parametrize(
    "iso", ["2022-6-21", "21/06/2022", "2022-02-30", "20220621", "", "2022-06-21T00:00"]
)
def test_bad_date(iso: str) -> None:
    with pytest.raises(ValueError, match="is not a date"):
        date(iso, "fr")


@pytest.mark.parametrize("iso", ["2026-03-02T14:05:09", "2026-03-02", "yesterday", ""])
def test_bad_instant(iso: str) -> None:
    with pytest.raises(ValueError, match="is not an instant"):
        instant(iso, "fr")


def test_public_names() -> None:
    assert sorted(formatting.__all__) == [
        "LOCALES",
        "amount",
        "date",
        "figure",
        "instant",
        "number",
        "plural",
    ]
