"""Small bar charts as standalone SVG text, written by hand.

The SVG uses only ``svg``, ``title``, ``g``, ``rect``, ``line`` and ``text`` with presentation
attributes (no CSS, no font but the generic ``sans-serif``), so browsers and typst's SVG renderer
draw it alike. Coordinates are computed with :class:`~decimal.Decimal` in a private context and
written with at most one decimal, so the same input always gives the same bytes.

Layout, top to bottom: the unit, value labels above the bars (below them for negative values),
the bars on a baseline at zero, and the year labels along the bottom edge.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from typing import Final

from ledger.reporting.formatting import LOCALES, number

__all__ = ["bar_chart", "svg_data_uri"]

_SVG_NS: Final = "http://www.w3.org/2000/svg"
_TENTH: Final = Decimal("0.1")
_CONTEXT: Final = Context(prec=28, rounding=ROUND_HALF_EVEN)

_PAD_X: Final = Decimal(8)
_TOP: Final = Decimal(36)  # unit line and room for the tallest bar's value label
_BOTTOM: Final = Decimal(28)  # room for the year labels
_NEGATIVE_ROOM: Final = Decimal(16)  # room for value labels under negative bars
_BAR_SHARE: Final = Decimal("0.6")  # share of its slot a bar takes
_BAR_MAX: Final = Decimal(56)
_FONT: Final = Decimal(11)
_CHAR_EM: Final = Decimal("0.6")  # generous average width of a digit, in em

_BAR_FILL: Final = "#4a78a8"
_INK: Final = "#222222"
_MUTED: Final = "#555555"


def _round(value: Decimal) -> Decimal:
    return value.quantize(_TENTH, context=_CONTEXT)


def _num(value: Decimal) -> str:
    """``value`` rounded to one decimal, without a trailing ``.0`` and without ``-0``."""
    rounded = _round(value)
    if rounded == rounded.to_integral_value():
        rounded = rounded.quantize(Decimal(1), context=_CONTEXT)
    text = format(rounded, "f")
    return "0" if text in ("-0", "-0.0") else text


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def _text(x: Decimal, y: Decimal, size: Decimal, fill: str, content: str, anchor: str) -> str:
    return (
        f'<text x="{_num(x)}" y="{_num(y)}" font-size="{_num(size)}" fill="{fill}" '
        f'text-anchor="{anchor}">{_escape(content)}</text>'
    )


def bar_chart(
    title: str,
    points: Sequence[tuple[str, str]],
    *,
    unit: str,
    lang: str,
    width: int = 480,
    height: int = 240,
) -> str:
    """A bar chart of ``points`` (year label, decimal string) as a standalone SVG document.

    Values are labelled with :func:`ledger.formatting.number` in ``lang``; ``title`` becomes the
    SVG ``<title>`` (its accessible name) and ``unit`` is written in the top-left corner.
    Raises ValueError for no points, a value that is not a decimal string, an unknown language
    or a size too small to draw in.
    """
    if lang not in LOCALES:
        raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LOCALES)}")
    if not points:
        raise ValueError("a bar chart needs at least one point")
    if width < 80 or height < 100:
        raise ValueError(f"a {width}x{height} chart is too small; need at least 80x100")
    labels = [number(value, lang) for _, value in points]  # validates every value
    with localcontext(_CONTEXT):
        body = _body(points, labels, unit, Decimal(width), Decimal(height))
    language = LOCALES[lang].replace("_", "-")
    lines = [
        f'<svg xmlns="{_SVG_NS}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" xml:lang="{language}" '
        f'font-family="sans-serif">',
        f"<title>{_escape(title)}</title>",
        *body,
        "</svg>",
    ]
    return "\n".join(lines) + "\n"


def _body(
    points: Sequence[tuple[str, str]],
    labels: Sequence[str],
    unit: str,
    width: Decimal,
    height: Decimal,
) -> list[str]:
    values = [Decimal(value) for _, value in points]
    high = max([Decimal(0), *values])
    low = min([Decimal(0), *values])
    plot_top = _TOP
    plot_bottom = height - _BOTTOM - (_NEGATIVE_ROOM if low < 0 else 0)
    plot_height = plot_bottom - plot_top
    if high == low:  # all zeros: a flat chart on the bottom line
        scale = Decimal(0)
        baseline = plot_bottom
    else:
        scale = plot_height / (high - low)
        baseline = plot_top + high * scale

    slot = (width - 2 * _PAD_X) / len(points)
    bar_width = min(slot * _BAR_SHARE, _BAR_MAX)
    longest = max(len(label) for label in labels)
    value_font = min(_FONT, slot / (longest * _CHAR_EM + _CHAR_EM))
    year_font = min(_FONT, slot / (max(len(year) for year, _ in points) * _CHAR_EM + _CHAR_EM))

    bars: list[str] = []
    values_text: list[str] = []
    years_text: list[str] = []
    for index, ((year, _), value, label) in enumerate(zip(points, values, labels, strict=True)):
        centre = _PAD_X + slot * index + slot / 2
        top = _round(baseline - max(value, Decimal(0)) * scale)
        bottom = _round(baseline - min(value, Decimal(0)) * scale)
        bars.append(
            f'<rect x="{_num(centre - bar_width / 2)}" y="{_num(top)}" '
            f'width="{_num(bar_width)}" height="{_num(bottom - top)}" fill="{_BAR_FILL}"/>'
        )
        label_y = bottom + value_font + 2 if value < 0 else top - 4
        values_text.append(_text(centre, label_y, value_font, _INK, label, "middle"))
        years_text.append(_text(centre, height - 10, year_font, _MUTED, year, "middle"))

    return [
        _text(_PAD_X, Decimal(14), _FONT, _MUTED, unit, "start"),
        "<g>",
        *bars,
        "</g>",
        f'<line x1="{_num(_PAD_X)}" y1="{_num(baseline)}" x2="{_num(width - _PAD_X)}" '
        f'y2="{_num(baseline)}" stroke="{_INK}" stroke-width="1"/>',
        "<g>",
        *values_text,
        "</g>",
        "<g>",
        *years_text,
        "</g>",
    ]


def svg_data_uri(svg: str) -> str:
    """``svg`` as a ``data:`` URI (base64 of its UTF-8 bytes), e.g. for an HTML ``<img src>``."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
