"""The special report: golden files in each language and format from a deterministic replay of
the SmartCoop scenario, every seed figure in the French report, byte identity, the two time
axes, and verification catching a one-character edit.

Regenerate the golden files (after a deliberate change) with: uv run python tests/test_report.py
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader
from shared import shared_dir

from ledger.chain import ledger as ledger_module
from ledger.chain.ledger import Ledger
from ledger.cli import main
from ledger.core import keys
from ledger.core.draft import Draft
from ledger.errors import IntegrityError
from ledger.projections import projected
from ledger.projections.projection import World
from ledger.reporting import documents, formatting, model

GOLDEN = Path(__file__).parent / "golden"
ROOT = Path(__file__).resolve().parents[1]
SEED = (shared_dir() / "seed" / "rapport-special-2025.txt").read_text()
LANGS = ("fr", "nl", "en")


def replay(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``ledger demo`` with a fixed clock, ledger id and keys: the same ledger every run."""
    tick = itertools.count()
    start = datetime(2026, 4, 30, 9, 0, tzinfo=UTC)
    monkeypatch.setattr(ledger_module, "utc_now", lambda: start + timedelta(seconds=next(tick)))
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID("6f1c2a4e-8b3d-4c5e-9f70-1a2b3c4d5e6f"))

    def seeded(name: str) -> keys.SigningKey:
        seed = hashlib.sha256(name.encode()).digest()
        return keys.SigningKey(Ed25519PrivateKey.from_private_bytes(seed), name)

    monkeypatch.setattr(keys, "generate", seeded)
    assert main(["demo", "--dir", str(folder)]) == 0
    return folder / "ledger.db"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as mp:
        yield replay(tmp_path_factory.mktemp("demo") / "smartcoop", mp)


def produce(db: Path, lang: str, fmt: str, **kw: object) -> bytes:
    ledger = Ledger.open(str(db), read_only=True)
    try:
        # The demo adopted its report at event 134: the golden files are the adopted report.
        return documents.produce(ledger, 2025, lang, fmt, upto=133, **kw).data  # type: ignore[arg-type]
    finally:
        ledger.close()


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("fmt", ["md", "html"])
def test_golden_text_reports(demo: Path, lang: str, fmt: str) -> None:
    golden = GOLDEN / f"rapport-special-2025.{lang}.{fmt}"
    assert produce(demo, lang, fmt).decode() == golden.read_text(), (
        f"{golden.name} differs: if the change is deliberate, run uv run python "
        "tests/test_report.py"
    )


@pytest.mark.parametrize("lang", LANGS)
def test_golden_pdf_text_and_byte_identity(demo: Path, lang: str) -> None:
    first, second = produce(demo, lang, "pdf"), produce(demo, lang, "pdf")
    assert first == second
    assert first.startswith(b"%PDF-")
    golden = GOLDEN / f"rapport-special-2025.{lang}.pdf.txt"
    assert pdf_text(first) == golden.read_text()
    assert b"pdfaid:part>2<" in first or b'pdfaid:part="2"' in first  # PDF/A-2 metadata


def test_the_adopted_pdf_is_the_one_recorded(demo: Path) -> None:
    ledger = Ledger.open(str(demo), read_only=True)
    adoption = ledger.entry(134).envelope
    ledger.close()
    assert adoption.type == "SpecialReportAdopted"
    pdf = (demo.parent / "rapport-special-2025.fr.pdf").read_bytes()
    assert adoption.payload["document_sha256"] == hashlib.sha256(pdf).hexdigest()
    assert pdf == produce(demo, "fr", "pdf")


# Counts the seed writes in words ("six sujets", "une soixantaine").
WORDS = {
    "2": {"deux"},
    "3": {"trois"},
    "4": {"quatre"},
    "5": {"cinq"},
    "6": {"six"},
    "7": {"sept"},
    "10": {"dizaine", "dix"},
    "12": {"douzaine"},
    "20": {"vingtaine"},
    "60": {"soixantaine"},
    "100": {"centaine"},
}


def _seed_spellings(value: str) -> set[str]:
    """How the seed may write a value: 219.949, 219 949, 8,55, 198 millions."""
    whole, _, decimals = value.partition(".")
    grouped = f"{int(whole):,}".replace(",", ".")
    spellings = {
        value,
        grouped,
        grouped.replace(".", " "),
        f"{whole},{decimals}" if decimals else grouped,
    }
    spellings |= WORDS.get(value, set())
    if int(whole) >= 1_000_000 and int(whole) % 1_000_000 == 0:
        spellings |= {f"{int(whole) // 1_000_000} millions", f"{int(whole) // 1_000_000} Mio"}
    return spellings


def test_every_figure_of_the_seed_is_in_the_french_report(demo: Path) -> None:
    text = produce(demo, "fr", "md").decode()
    rows = list(csv.DictReader((ROOT / "cli" / "smartcoop" / "figures-2025.csv").open()))
    assert len(rows) >= 60
    for row in rows:
        assert any(s in SEED for s in _seed_spellings(row["value"])), (row["name"], row["value"])
        one = formatting.plural(row["value"], "fr") == "one"
        units = model.messages("fr")["units_one" if one else "units"]
        unit = units.get(row["unit"], row["unit"])
        phrase = formatting.figure(row["value"], unit, row["qualifier"] or None, "fr")
        assert f"- {row['label_fr']} : {phrase} (événement " in text, (row["name"], phrase)


def test_report_states_what_it_rests_on(demo: Path) -> None:
    text = produce(demo, "fr", "md").decode()
    assert "6f1c2a4e-8b3d-4c5e-9f70-1a2b3c4d5e6f" in text
    assert "point de contrôle de taille 133" in text
    assert "tel que connu à la date du dernier événement pris en compte" in text
    assert "(événement 17)" in text  # events are cited by sequence number


def test_as_filed_is_unchanged_by_a_later_correction(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "ledger.db"
    src = Ledger.open(str(demo), read_only=True)
    import sqlite3

    with sqlite3.connect(demo) as a, sqlite3.connect(db) as b:
        a.backup(b)
    src.close()
    ledger = Ledger.open(str(db))
    figure = next(
        e
        for e in ledger.entries()
        if e.envelope.type == "MetricSubmitted" and e.envelope.payload["name"] == "turnover"
    ).envelope
    ledger.close()
    cut = "2026-12-31T23:59:59.999999Z"
    ledger = Ledger.open(str(db), read_only=True)
    filed = documents.produce(ledger, 2025, "fr", "md", cut).data
    ledger.close()
    # The correction is recorded a year later (the clock says so).
    monkeypatch.setattr(ledger_module, "utc_now", lambda: datetime(2027, 5, 2, tzinfo=UTC))
    key = str(demo.parent / "keys" / "treasurer.key")
    assert (
        main(
            [
                "--ledger",
                str(db),
                "correct",
                str(figure.seq),
                "--reason",
                "audited figure",
                "--set",
                "value=198500000",
                "--key",
                key,
            ]
        )
        == 0
    )
    ledger = Ledger.open(str(db), read_only=True)
    as_filed = documents.produce(ledger, 2025, "fr", "md", cut).data
    now = documents.produce(ledger, 2025, "fr", "md").data
    ledger.close()
    assert as_filed == filed  # the same bytes, provenance included
    body = lambda b: b.decode().split("## Provenance")[0].split("\n", 1)[1]  # noqa: E731
    assert "198 millions" in body(as_filed) and "198 500 000" not in body(as_filed)
    assert "198\u202f500\u202f000" in body(now)
    changes = io.StringIO()
    monkeypatch.setattr(sys, "stdout", changes)
    assert (
        main(["--ledger", str(db), "report", "diff", "--year", "2025", "--from", "2026-12-31"]) == 0
    )
    diff = changes.getvalue()
    assert (
        "\n-- chiffre d'affaires atteint par l'entreprise partagée : plus de 198 millions "
        "d'euros (événement 37)" in diff
    )
    # As known now, the line cites the correction and keeps the value first filed in view.
    assert (
        "\n+- chiffre d'affaires atteint par l'entreprise partagée : plus de "
        "198\u202f500\u202f000\u00a0€ (événement 135, qui corrige l'événement 37 ; valeur "
        "déposée d'abord : plus de 198 millions d'euros)" in diff
    )


@pytest.mark.parametrize("fmt", ["md", "html", "pdf"])
def test_verify_catches_a_one_character_edit(demo: Path, tmp_path: Path, fmt: str) -> None:
    data = produce(demo, "fr", fmt)
    ledger = Ledger.open(str(demo), read_only=True)
    assert documents.verify(ledger, data).provenance.size == 133
    # In a PDF, a byte of the document structure rather than of the metadata.
    at = data.index(b"/Length") if fmt == "pdf" else data.index(b"Conseil")
    edited = data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]
    with pytest.raises(IntegrityError) as caught:
        documents.verify(ledger, edited)
    ledger.close()
    assert caught.value.reason == "report-mismatch"


def write_golden() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as d, pytest.MonkeyPatch.context() as mp:
        db = replay(Path(d) / "smartcoop", mp)
        for lang in LANGS:
            for fmt in ("md", "html"):
                (GOLDEN / f"rapport-special-2025.{lang}.{fmt}").write_bytes(produce(db, lang, fmt))
            (GOLDEN / f"rapport-special-2025.{lang}.pdf.txt").write_text(
                pdf_text(produce(db, lang, "pdf"))
            )


if __name__ == "__main__":
    write_golden()


@pytest.mark.postgres
def test_reports_are_the_same_bytes_from_postgresql(demo: Path, tmp_path: Path) -> None:
    # The demo ledger, moved to PostgreSQL through a bundle, gives the very same reports: the
    # golden files do not depend on the backend.
    import psycopg
    from conftest import POSTGRES_URL, need_postgres

    from ledger.app import transparency

    need_postgres()
    schema = f"test_{uuid.uuid4().hex[:16]}"
    target = f"{POSTGRES_URL}?schema={schema}"
    bundle = tmp_path / "demo.bundle"
    ledger = Ledger.open(str(demo), read_only=True)
    try:
        transparency.export(ledger, bundle)
    finally:
        ledger.close()
    try:
        transparency.import_bundle(target, bundle)
        copy = Ledger.open(target, read_only=True)
        try:
            for lang, fmt in (("fr", "pdf"), ("nl", "md"), ("en", "html")):
                there = documents.produce(copy, 2025, lang, fmt, upto=133).data  # type: ignore[arg-type]
                assert there == produce(demo, lang, fmt), (lang, fmt)
        finally:
            copy.close()
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as c:
            c.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


# --- the report's fold keeps only the newest figure per year and name -------------------------


@st.composite
def figure_history(draw: st.DrawFn) -> list[tuple[str, Any]]:
    """Figures of a few (year, name) keys, with corrections (some moving a figure to another
    key) and retractions of earlier figures, in a valid order."""
    steps: list[tuple[str, Any]] = []
    figures: list[int] = []  # indexes in steps of figures still correctable
    for _ in range(draw(st.integers(1, 14))):
        action = draw(st.sampled_from(["figure", "figure", "correct", "retract"]))
        if action != "figure" and figures:
            target = draw(st.sampled_from(figures))
            if action == "retract":
                figures.remove(target)
                steps.append(("retract", target))
            else:
                key = (draw(st.sampled_from([2024, 2025])), draw(st.sampled_from("ab")))
                steps.append(("correct", (target, key, draw(st.integers(0, 99)))))
            continue
        key = (draw(st.sampled_from([2024, 2025])), draw(st.sampled_from("ab")))
        figures.append(len(steps))
        steps.append(("figure", (key, draw(st.integers(0, 99)))))
    return steps


def metric(year: int, name: str, value: int) -> dict[str, Any]:
    return {"year": year, "name": name, "value": str(value), "unit": "n"}


@settings(deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(history=figure_history(), cut=st.integers(0, 20))
def test_newest_figures_equal_a_full_fold(
    history: list[tuple[str, Any]], cut: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("newest")
    key = keys.generate("Secretary")
    ledger = Ledger.create(str(folder / "l.db"), enterprise="X", number="0896.755.397", key=key)
    try:
        seq_of: dict[int, int] = {}
        for i, (action, arg) in enumerate(history):
            if action == "figure":
                (year, name), value = arg
                draft = Draft("MetricSubmitted", metric(year, name, value))
            elif action == "retract":
                draft = Draft("EventRetracted", {"event": seq_of[arg], "reason": "error"})
            else:
                target, (year, name), value = arg
                replacement = metric(year, name, value)
                draft = Draft(
                    "EventCorrected",
                    {"event": seq_of[target], "reason": "fix", "replacement": replacement},
                )
            [entry] = ledger.append(key, [draft])
            seq_of[i] = entry.envelope.seq
        upto = min(ledger.size(), 1 + cut)
        full = projected.world(ledger, upto=upto, start=World(tracked=model.REPORT_TYPES))
        newest = projected.world(ledger, upto=upto, start=model.new_world())
        provenance = model.Provenance(str(ledger.id), upto, "", None, "")
        for year in (2024, 2025):
            got = model._Builder(newest, year, "en", provenance).figures()
            want = model._Builder(full, year, "en", provenance).figures()
            assert got == want
    finally:
        ledger.close()
