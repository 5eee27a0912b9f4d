"""ledger.charts: well-formed, deterministic SVG that browsers and typst can draw."""

from __future__ import annotations

import base64
import io
import itertools
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pypdf
import pytest
import typst

from ledger.reporting.charts import bar_chart, svg_data_uri

NS = {"svg": "http://www.w3.org/2000/svg"}
NNBSP = "\u202f"
LOANS = [("2021", "150000"), ("2022", "180250.5"), ("2023", "205000"), ("2024", "219949")]
ALLOWED_TAGS = {"svg", "title", "g", "rect", "line", "text"}
NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9])?\Z")


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def local(tag: str) -> str:
    return tag.rpartition("}")[2]


def rects(root: ET.Element) -> list[ET.Element]:
    return root.findall(".//svg:rect", NS)


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.findall(".//svg:text", NS)]


def test_document_shape() -> None:
    svg = bar_chart("Prêts à taux 0 %", LOANS, unit="EUR", lang="fr")
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" ')
    assert not svg.startswith("<?xml")
    assert svg.endswith("</svg>\n")
    root = parse(svg)
    assert local(root.tag) == "svg"
    assert root.get("viewBox") == "0 0 480 240"
    assert (root.get("width"), root.get("height")) == ("480", "240")
    assert root.get("role") == "img"
    assert root.get("font-family") == "sans-serif"
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "fr-BE"
    assert local(root[0].tag) == "title"
    assert root[0].text == "Prêts à taux 0 %"
    assert {local(e.tag) for e in root.iter()} <= ALLOWED_TAGS
    assert "style" not in svg and "class=" not in svg


def test_exact_bytes() -> None:
    """Pins the layout: any change to coordinates shows up here."""
    svg = bar_chart("Loans", [("2024", "100"), ("2025", "-50.5")], unit="EUR", lang="en")
    assert svg == (
        '<svg xmlns="http://www.w3.org/2000/svg" width="480" height="240" '
        'viewBox="0 0 480 240" role="img" xml:lang="en-GB" font-family="sans-serif">\n'
        "<title>Loans</title>\n"
        '<text x="8" y="14" font-size="11" fill="#555555" text-anchor="start">EUR</text>\n'
        "<g>\n"
        '<rect x="96" y="36" width="56" height="106.3" fill="#4a78a8"/>\n'
        '<rect x="328" y="142.3" width="56" height="53.7" fill="#4a78a8"/>\n'
        "</g>\n"
        '<line x1="8" y1="142.3" x2="472" y2="142.3" stroke="#222222" stroke-width="1"/>\n'
        "<g>\n"
        '<text x="124" y="32" font-size="11" fill="#222222" text-anchor="middle">100</text>\n'
        '<text x="356" y="209" font-size="11" fill="#222222" text-anchor="middle">-50.5</text>\n'
        "</g>\n"
        "<g>\n"
        '<text x="124" y="230" font-size="11" fill="#555555" text-anchor="middle">2024</text>\n'
        '<text x="356" y="230" font-size="11" fill="#555555" text-anchor="middle">2025</text>\n'
        "</g>\n"
        "</svg>\n"
    )


def test_deterministic() -> None:
    first = bar_chart("Prêts", LOANS, unit="EUR", lang="nl")
    second = bar_chart("Prêts", list(LOANS), unit="EUR", lang="nl")
    assert first.encode("utf-8") == second.encode("utf-8")


def test_one_bar_per_point_and_labels() -> None:
    root = parse(bar_chart("Prêts", LOANS, unit="EUR", lang="fr"))
    assert len(rects(root)) == len(LOANS)
    labels = texts(root)
    for year, _ in LOANS:
        assert year in labels
    for label in (f"150{NNBSP}000", f"180{NNBSP}250,5", f"205{NNBSP}000", f"219{NNBSP}949"):
        assert label in labels
    assert "EUR" in labels


@pytest.mark.parametrize(
    ("lang", "label"), [("fr", f"219{NNBSP}949"), ("nl", "219.949"), ("en", "219,949")]
)
def test_value_labels_follow_language(lang: str, label: str) -> None:
    assert label in texts(parse(bar_chart("t", [("2025", "219949")], unit="EUR", lang=lang)))


def test_coordinates_have_at_most_one_decimal() -> None:
    many = [(str(2000 + i), str(i * 7919 % 1000 - 300) + ".37") for i in range(23)]
    for points in (LOANS, many, [("2025", "1")], [("2024", "0"), ("2025", "0")]):
        root = parse(bar_chart("t", points, unit="EUR", lang="en", width=333, height=197))
        for element in root.iter():
            for name in ("x", "y", "width", "height", "x1", "y1", "x2", "y2", "font-size"):
                value = element.get(name)
                if value is not None:
                    assert NUMBER.match(value), (name, value)


def test_bars_sit_on_the_baseline() -> None:
    points = [("2022", "120"), ("2023", "-40"), ("2024", "0"), ("2025", "80")]
    root = parse(bar_chart("t", points, unit="EUR", lang="en"))
    line = root.find(".//svg:line", NS)
    assert line is not None
    baseline = float(line.get("y1", ""))
    bars = rects(root)
    tops = [float(r.get("y", "")) for r in bars]
    bottoms = [round(float(r.get("y", "")) + float(r.get("height", "")), 1) for r in bars]
    assert bottoms[0] == baseline and tops[0] < baseline  # positive: above
    assert tops[1] == baseline and bottoms[1] > baseline  # negative: below
    assert tops[2] == baseline and bottoms[2] == baseline  # zero: flat
    assert bottoms[3] == baseline and tops[0] < tops[3] < baseline  # shorter than the first
    assert all(float(r.get("height", "")) >= 0 for r in bars)


def test_one_point() -> None:
    root = parse(bar_chart("t", [("2025", "219949")], unit="EUR", lang="fr"))
    [bar] = rects(root)
    assert float(bar.get("width", "")) <= 56  # one point does not fill the width
    x = float(bar.get("x", ""))
    assert x + float(bar.get("width", "")) / 2 == 240  # centred
    assert "2025" in texts(root)


def test_all_zeros() -> None:
    root = parse(bar_chart("t", [("2024", "0"), ("2025", "0.00")], unit="EUR", lang="nl"))
    assert [r.get("height") for r in rects(root)] == ["0", "0"]
    labels = texts(root)
    assert "0" in labels and "0,00" in labels


def test_all_negative() -> None:
    root = parse(bar_chart("t", [("2024", "-10"), ("2025", "-20")], unit="EUR", lang="en"))
    line = root.find(".//svg:line", NS)
    assert line is not None
    baseline = line.get("y1")
    assert [r.get("y") for r in rects(root)] == [baseline, baseline]
    assert "-20" in texts(root)


def test_many_points_narrow_down() -> None:
    few = rects(parse(bar_chart("t", LOANS, unit="EUR", lang="fr")))
    many_points = [(str(1990 + i), str(1000 * i)) for i in range(36)]
    root = parse(bar_chart("t", many_points, unit="EUR", lang="fr"))
    many = rects(root)
    assert len(many) == 36
    assert float(many[0].get("width", "")) < float(few[0].get("width", ""))
    xs = [float(r.get("x", "")) for r in many]
    width = float(many[0].get("width", ""))
    assert all(b - a > width for a, b in itertools.pairwise(xs))  # no overlap
    assert xs[0] >= 0 and xs[-1] + width <= 480
    sizes = {float(t.get("font-size", "")) for t in root.findall(".//svg:text", NS)}
    assert min(sizes) < 11  # labels shrink with the slots


def test_escaping() -> None:
    title = 'R&D <"2025"> l\'an'
    svg = bar_chart(title, [("<y&>", "1")], unit='k€ & "x"', lang="fr")
    assert "&amp;" in svg and "&lt;" in svg and "&gt;" in svg and "&quot;" in svg
    assert "&#39;" in svg
    root = parse(svg)
    assert root[0].text == title
    labels = texts(root)
    assert "<y&>" in labels
    assert 'k€ & "x"' in labels


def test_size_parameters() -> None:
    root = parse(bar_chart("t", LOANS, unit="EUR", lang="en", width=640, height=320))
    assert root.get("viewBox") == "0 0 640 320"
    for bar in rects(root):
        assert 0 <= float(bar.get("y", "")) <= 320


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"points": []}, "at least one point"),
        ({"points": [("2025", "1,5")]}, "is not a decimal string"),
        ({"points": [("2025", "1e3")]}, "is not a decimal string"),
        ({"lang": "de"}, "unknown language"),
        ({"width": 10}, "too small"),
        ({"height": 0}, "too small"),
    ],
)
def test_errors(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"points": LOANS, "unit": "EUR", "lang": "fr", **kwargs}
    with pytest.raises(ValueError, match=message):
        bar_chart("t", **arguments)  # type: ignore[arg-type]


def test_data_uri() -> None:
    svg = bar_chart("Prêts", LOANS, unit="EUR", lang="fr")
    uri = svg_data_uri(svg)
    prefix = "data:image/svg+xml;base64,"
    assert uri.startswith(prefix)
    assert base64.b64decode(uri[len(prefix) :]).decode("utf-8") == svg


@pytest.mark.parametrize("lang", ["fr", "nl", "en"])
def test_typst_renders_file(tmp_path: Path, lang: str) -> None:
    points = [*LOANS, ("2025", "-12000.50")]
    (tmp_path / "chart.svg").write_text(bar_chart("R&D <x>", points, unit="EUR", lang=lang))
    (tmp_path / "main.typ").write_text('#image("chart.svg", width: 100%)\n')
    pdf = typst.compile(str(tmp_path / "main.typ"), root=str(tmp_path), format="pdf")
    assert isinstance(pdf, bytes) and pdf.startswith(b"%PDF-")
    text = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    for year, _ in points:
        assert year in text  # SVG text stays text in the PDF


def test_typst_renders_inline_bytes() -> None:
    svg = bar_chart('Prêts "0 %" & co', LOANS, unit="EUR", lang="fr")
    literal = svg.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    source = f'#image(bytes("{literal}"), format: "svg")\n'
    pdf = typst.compile(source.encode("utf-8"), format="pdf")
    assert isinstance(pdf, bytes) and pdf.startswith(b"%PDF-")
