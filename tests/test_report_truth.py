"""The report tells what the compliance projection tells, for every year of the demo; a year or
an instant nobody can answer for is refused; ``report verify`` finds the ledger a file names in
a store of many, says whether the file is the one the board adopted, and needs nothing beyond
the package's own dependencies."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from conftest import Result
from test_report import replay

from ledger.app import keyfiles
from ledger.chain.ledger import Ledger
from ledger.cli import main
from ledger.core import keys
from ledger.projections import projected
from ledger.reporting import documents, model

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo replayed on a fixed clock, ids and keys, which are then let go: what the tests
    create beside it gets its own."""
    with pytest.MonkeyPatch.context() as mp:
        return replay(tmp_path_factory.mktemp("truth") / "smartcoop", mp)


def cli(*args: str) -> Result:
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return Result(code, out.getvalue(), err.getvalue())


@pytest.mark.parametrize("year", range(2019, 2026))
def test_the_report_says_what_compliance_says(demo: Path, year: int) -> None:
    """Each condition's status and each finding of the report are the projection's, for the
    same year and instant; "no findings" is said only when every condition is met."""
    found = cli("--ledger", str(demo), "compliance", "--year", str(year), "--json")
    assert found.code == 0, found.err
    answer = orjson.loads(found.out)
    ledger = Ledger.open(str(demo), read_only=True)
    try:
        text = documents.produce(ledger, year, "fr", "md").data.decode()
    finally:
        ledger.close()
    labels = model.messages("fr")["status"]
    for condition in answer["conditions"]:
        [row] = [line for line in text.splitlines() if line.startswith(f"| {condition['id']}. ")]
        assert row.endswith(f"| {labels[condition['status']]} |"), (year, row)
        for finding in condition["findings"]:
            assert f"Condition {condition['id']} : {finding['text']}" in text, (year, finding)
    all_met = all(c["status"] == "met" for c in answer["conditions"])
    assert ("Aucun constat : les conditions établies par le registre sont respectées." in text) \
        == all_met  # fmt: skip
    if not all_met:
        assert "respectées." not in text.split("## Constats")[1].split("##")[0]


@pytest.mark.parametrize(
    "args,message",
    [
        (("compliance", "--year", "2018"),
         "error: --year: 2018 is before the compliance rules: report_delay_months is in force "
         "from 2019-05-01; give a year from 2019"),
        (("report", "--year", "2018"),
         "error: --year: 2018 is before the compliance rules: report_delay_months is in force "
         "from 2019-05-01; give a year from 2019"),
        (("compliance", "--year", "2025", "--as-known-at", "2000-01-01"),
         "error: --as-known-at: 2000-01-01T23:59:59.999999Z is before the ledger's first event, "
         "recorded at 2026-04-30T09:00:00.000000Z: nothing was known then"),
        (("report", "--year", "2025", "--as-known-at", "2000-01-01"),
         "error: --as-known-at: 2000-01-01T23:59:59.999999Z is before the ledger's first event, "
         "recorded at 2026-04-30T09:00:00.000000Z: nothing was known then"),
    ],
)  # fmt: skip
def test_a_year_or_instant_nobody_can_answer_for_is_refused(
    demo: Path, args: tuple[str, ...], message: str
) -> None:
    done = cli("--ledger", str(demo), *args)
    assert (done.code, done.err.strip(), done.out) == (2, message, "")


def test_a_year_before_anything_the_ledger_holds_is_refused(tmp_path: Path) -> None:
    key = keys.generate("Secrétaire")
    path = tmp_path / "k.key"
    keyfiles.write_key_files(key, path, None)
    db = str(tmp_path / "l.db")
    assert cli("--ledger", db, "init", "--enterprise", "X", "--number", "0403.170.701",
               "--key", str(path)).code == 0  # fmt: skip
    text = tmp_path / "a.md"
    text.write_text("Forme.", encoding="utf-8")
    done = cli("--ledger", db, "record", "article", "--number", "1", "--text-file", str(text),
               "--deed", "statuts", "--effective", "2023-02-01", "--key", str(path))  # fmt: skip
    assert done.code == 0, done.err
    refused = cli("--ledger", db, "compliance", "--year", "2022")
    assert refused.code == 2
    assert refused.err.strip() == (
        "error: --year: the ledger holds nothing about 2022: its earliest event is about 2023; "
        "give a year from 2023"
    )
    ledger = Ledger.open(db, read_only=True)
    try:
        assert projected.compliance(ledger, 2023)[0].year == 2023
    finally:
        ledger.close()


def test_report_verify_finds_the_ledger_and_says_whether_it_is_adopted(
    demo: Path, tmp_path: Path
) -> None:
    store = tmp_path / "council.db"
    shutil.copy(demo, store)
    other = tmp_path / "other.key"
    keyfiles.write_key_files(keys.generate("Autre"), other, None)
    assert cli("--ledger", str(store), "init", "--enterprise", "Autre SC", "--number",
               "0403.170.701", "--key", str(other)).code == 0  # fmt: skip
    adopted = demo.parent / "rapport-special-2025.fr.pdf"
    done = cli("--ledger", str(store), "report", "verify", str(adopted))
    assert done.code == 0, done.err
    assert done.out.splitlines()[-1] == (
        "adopted: it is the report on 2025 the board adopted at event 134 (meeting 124)"
    )
    markdown = demo.parent / "rapport-special-2025.fr.md"
    done = cli("--ledger", str(store), "report", "verify", str(markdown))
    assert done.code == 0, done.err
    assert done.out.splitlines()[-1] == (
        "not adopted: the board adopted another file as the report on 2025 (event 134)"
    )
    later = tmp_path / "r2024.md"
    assert cli("--ledger", str(store), "--ledger-id", "0896.755.397", "report", "--year", "2024",
               "--out", str(later)).code == 0  # fmt: skip
    done = cli("--ledger", str(store), "report", "verify", str(later))
    assert done.out.splitlines()[-1] == "not adopted: no report on 2024 is adopted in this ledger"
    wrong = cli("--ledger", str(store), "--ledger-id", "0403.170.701", "report", "verify",
                str(adopted))  # fmt: skip
    assert wrong.code == 2 and "the report is of ledger" in wrong.err


def test_report_verify_in_a_plain_install(demo: Path, tmp_path: Path) -> None:
    """In a virtual environment holding the package and its runtime dependencies only (no dev
    group: no pytest, no hypothesis), ``ledger report verify`` reads a PDF."""
    uv = shutil.which("uv")
    if uv is None:
        if os.environ.get("CI"):
            pytest.fail("uv is not on PATH in CI")
        pytest.skip("uv is not on PATH")
    venv = tmp_path / "venv"
    env = {
        k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")
    }
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True, env=env)
    python = venv / "bin" / "python"
    subprocess.run([uv, "pip", "install", "-q", "--python", str(python), str(ROOT)],
                   check=True, env=env, timeout=600)  # fmt: skip
    probe = subprocess.run([str(python), "-c", "import pytest"], capture_output=True, env=env)
    assert probe.returncode != 0, "the plain install must not hold the dev group"
    pdf = demo.parent / "rapport-special-2025.fr.pdf"
    done = subprocess.run(
        [str(venv / "bin" / "ledger"), "--ledger", str(demo), "report", "verify", str(pdf)],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].startswith("adopted: it is the report on 2025")


def _keys(table: dict[str, object], prefix: str = "") -> set[str]:
    found = set()
    for name, value in table.items():
        if isinstance(value, dict):
            found |= _keys(value, f"{prefix}{name}.")
        else:
            found.add(f"{prefix}{name}")
    return found


def test_every_message_exists_in_every_language() -> None:
    """The same keys in fr, nl and en: labels, units (plural and singular), statuses, findings;
    and every unit a shipped scenario's figures use is worded."""
    import csv
    import re

    worded = {lang: model.messages(lang) for lang in ("fr", "nl", "en")}
    keys = {lang: _keys(m) for lang, m in worded.items()}
    assert keys["nl"] == keys["fr"] and keys["en"] == keys["fr"], {
        lang: sorted(k ^ keys["fr"]) for lang, k in keys.items()
    }
    assert set(worded["fr"]["units"]) == set(worded["fr"]["units_one"])
    used = set()
    for path in (ROOT / "cli").glob("*/figures-*.csv"):
        text = path.read_text(encoding="utf-8-sig")
        rows = csv.DictReader(
            text.splitlines(), delimiter=";" if ";" in text.splitlines()[0] else ","
        )
        used |= {row["unit"] for row in rows}
    for path in (ROOT / "cli").glob("*/scenario.txt"):
        used |= {m.strip('"') for m in re.findall(r'--unit ("[^"]+"|\S+)', path.read_text())}
    written_as_is = {"EUR", "%", "/10", "m²", "n"}
    assert used - written_as_is <= set(worded["fr"]["units"]), sorted(
        used - written_as_is - set(worded["fr"]["units"])
    )


@pytest.mark.parametrize(
    "lang,value,form", [("fr", "1", "one"), ("fr", "0", "one"), ("fr", "2", "other"),
                        ("nl", "1", "one"), ("nl", "0", "other"), ("en", "1", "one"),
                        ("en", "1.5", "other"), ("fr", "1.5", "one")],
)  # fmt: skip
def test_plural_forms_come_from_cldr(lang: str, value: str, form: str) -> None:
    from ledger.reporting import formatting

    assert formatting.plural(value, lang) == form


def test_one_of_a_unit_or_an_event_is_said_in_the_singular(demo: Path) -> None:
    ledger = Ledger.open(str(demo), read_only=True)
    try:
        text = documents.produce(ledger, 2025, "fr", "md").data.decode()
        english = documents.produce(ledger, 2025, "en", "md").data.decode()
    finally:
        ledger.close()
    assert "décisions : événements 21, 130" in text
    assert re.search(r"décision : événement \d+ \|", text)  # CO conditions cite one decision
    assert "1 études" not in text and "1 studies" not in english
    assert re.search(r"\b1 étude\b", text) or "étude" not in text


def _fonts(pdf: object) -> list[dict[str, object]]:
    """Every font dictionary the pages use, descendants of composite fonts included."""
    from pypdf import PdfReader

    assert isinstance(pdf, PdfReader)
    found = []
    for page in pdf.pages:
        resources = page.get("/Resources", {})
        for ref in resources.get("/Font", {}).values():
            font = ref.get_object()
            found.append(font)
            found += [d.get_object() for d in font.get("/DescendantFonts", [])]
    return found


def test_the_pdf_says_whose_report_and_keeps_its_pdf_a_claims(demo: Path) -> None:
    """Title with the enterprise and the year, the enterprise as author, a footer "page n / N"
    with the enterprise number and the ledger's size (the id only in the marker); PDF/A-2b as
    claimed: XMP identification, an output intent with its ICC profile, every font embedded."""
    import io

    from pypdf import PdfReader

    data = (demo.parent / "rapport-special-2025.fr.pdf").read_bytes()
    pdf = PdfReader(io.BytesIO(data))
    assert pdf.metadata is not None
    assert pdf.metadata.title == (
        "Rapport spécial relatif à l'agrément comme « entreprise sociale » — SmartCoop SCES "
        "agréée — 2025"
    )
    assert pdf.metadata.author == "SmartCoop SCES agréée"
    pages = len(pdf.pages)
    for n, page in enumerate(pdf.pages, start=1):
        text = page.extract_text()
        assert text.rstrip().endswith(
            "SmartCoop SCES agréée (BCE 0896.755.397) — rapport spécial 2025 — registre de 133 "
            f"événements page {n} / {pages}"
        ), (n, text[-200:])
        # The ledger's id is for machines (the marker) and the provenance, not the footer.
        assert "6f1c2a4e" not in text.rstrip().splitlines()[-1]
    root = pdf.trailer["/Root"]
    xmp = root["/Metadata"].get_object().get_data().decode()
    assert "<pdfaid:part>2</pdfaid:part>" in xmp and "<pdfaid:conformance>B" in xmp
    [intent] = [i.get_object() for i in root["/OutputIntents"]]
    assert intent["/S"] == "/GTS_PDFA1" and intent["/DestOutputProfile"].get_object().get_data()
    fonts = _fonts(pdf)
    assert fonts
    for font in fonts:
        if font.get("/Subtype") == "/Type0":
            continue  # composite: its descendant carries the descriptor
        descriptor = font["/FontDescriptor"].get_object()
        assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), font
