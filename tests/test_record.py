"""The secretary's CLI over the whole catalogue: every type recorded and read back, bulk imports
that are all or nothing, references and outcomes that must hold, corrections, filters."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import Database, Result, make_key, metric_args

from ledger.app import forms, keyfiles
from ledger.chain.ledger import Ledger
from ledger.core import keys
from ledger.core.draft import Draft
from ledger.core.semantics import shifted
from ledger.errors import InputError

METRIC = {"year": 2025, "name": "members", "value": "12", "unit": "n"}
ACCREDITATION = {
    "kind": "social_enterprise",
    "authority": "SPF Economie",
    "decision_date": "2025-02-30",
    "reference": "AR 2025/1",
}
GOOD_DAY = {"decision_date": "2025-02-28"}

EXAMPLES = orjson.loads((Path(__file__).parent / "data" / "catalogue_examples.json").read_bytes())
FORM_OF = {f.type: f for f in forms.FORMS}
OFFSET = 1  # the examples number events from a bare genesis; ours enrols a board key first


def cli_args(event_type: str, payload: dict[str, Any], folder: Path, n: int) -> list[str]:
    form = FORM_OF[event_type]
    args = ["record", form.command]
    for name, value in payload.items():
        option = forms.option_name(form, name)
        if name in form.files:
            path = folder / f"text-{n}-{name}.md"
            path.write_bytes(value.encode())
            args += [option, str(path)]
        elif isinstance(value, bool):
            args.append(option if value else f"--not-{option[2:]}")
        elif isinstance(value, list):
            for item in value:
                args += [option, str(item)]
        else:
            args += [option, str(value)]
    return args


@pytest.fixture
def book(tmp_path: Path, cli: Callable[..., Result], db: Database) -> dict[str, Any]:
    founder, board = make_key(tmp_path, "Secretary"), make_key(tmp_path, "Board")
    assert (
        cli(
            "init", "--enterprise", "SmartCoop", "--number", "0896.755.397", "--key", str(founder)
        ).code
        == 0
    )
    assert (
        cli(
            "signer",
            "add",
            "--pub",
            f"{board}.pub",
            "--name",
            "Board",
            "--role",
            "board",
            "--role",
            "treasurer",
            "--key",
            str(founder),
        ).code
        == 0
    )
    return {"founder": founder, "board": board, "db": db}


def test_every_type_recorded_through_the_cli_and_read_back(
    book: dict[str, Any], cli: Callable[..., Result], tmp_path: Path
) -> None:
    for n, example in enumerate(EXAMPLES["history"]):
        event_type, payload = (
            example["type"],
            shifted(example["type"], 1, example["payload"], OFFSET),
        )
        key = (
            book["board"]
            if event_type in ("BoardReviewRecorded", "SpecialReportAdopted")
            else book["founder"]
        )
        if event_type in FORM_OF:
            args = [
                *cli_args(event_type, payload, tmp_path, n),
                "--effective",
                example["effective"],
            ]
        elif event_type == "EventCorrected":
            target = orjson.loads(cli("show", str(payload["event"]), "--json").out)["payload"]
            sets = [f"{k}={v}" for k, v in payload["replacement"].items() if target.get(k) != v]
            args = [
                "correct",
                str(payload["event"]),
                "--reason",
                payload["reason"],
                *[x for s in sets for x in ("--set", s)],
            ]
        elif event_type == "EventRetracted":
            args = ["retract", str(payload["event"]), "--reason", payload["reason"]]
        else:  # SpecialReportAdopted comes with `ledger report adopt` (issue #6)
            ledger = Ledger.open(book["db"].location)
            ledger.append(
                keyfiles.load_signing_key(key, lambda p: b""),
                [Draft(event_type, payload, example["effective"])],
            )
            ledger.close()
            continue
        result = cli(*args, "--key", str(key))
        assert result.code == 0, (event_type, result.err)
        assert result.out.strip() == str(example["seq"] + OFFSET)
    events = [orjson.loads(line) for line in cli("log", "--json").out.splitlines()]
    assert len(events) == 2 + len(EXAMPLES["history"])
    for example, event in zip(EXAMPLES["history"], events[2:], strict=True):
        assert event["type"] == example["type"]
        assert event["payload"] == shifted(example["type"], 1, example["payload"], OFFSET), example[
            "type"
        ]
        if example["type"] != "EventCorrected":  # takes the corrected event's fixed date
            assert event["effective"] == example["effective"], example["type"]
    assert cli("verify").code == 0


def test_texts_are_stored_exactly(
    book: dict[str, Any], cli: Callable[..., Result], tmp_path: Path
) -> None:
    text = "Art. 23 — « Le mandat d\u2019administrateur est gratuit » €\r\n\tfin\n" + "x" * 150_000
    (tmp_path / "art.md").write_bytes(text.encode())
    result = cli(
        "record",
        "article",
        "--number",
        "23",
        "--title",
        "Mandat",
        "--text-file",
        str(tmp_path / "art.md"),
        "--deed",
        "statuts",
        "--effective",
        "2019-05-01",
        "--key",
        str(book["founder"]),
    )
    assert result.code == 0, result.err
    shown = orjson.loads(cli("show", result.out.strip(), "--json").out)
    assert shown["payload"]["text_fr"] == text
    undated = cli(
        "record",
        "article",
        "--number",
        "24",
        "--text-file",
        str(tmp_path / "art.md"),
        "--deed",
        "statuts",
        "--key",
        str(book["founder"]),
    )
    assert undated.code == 2 and undated.err.strip() == (
        "error: --effective: an article adopted or repealed by deed needs the date it took "
        "effect: --effective YYYY-MM-DD"
    )


def test_references_must_exist_and_have_the_right_type(
    book: dict[str, Any], cli: Callable[..., Result]
) -> None:
    before = book["db"].rows()
    base = [
        "record",
        "resolution",
        "--number",
        "1",
        "--subject",
        "x",
        "--category",
        "other",
        "--for",
        "3",
        "--against",
        "0",
        "--abstaining",
        "0",
        "--max-single",
        "1",
        "--majority",
        "simple",
        "--adopted",
        "--key",
        str(book["founder"]),
    ]
    missing = cli(*base, "--assembly", "99")
    assert (missing.code, missing.err.strip()) == (
        2,
        "error: --assembly: 99 is not an earlier event (this is event 3)",
    )
    wrong = cli(*base, "--assembly", "2")
    assert wrong.code == 2
    assert (
        wrong.err.strip() == "error: --assembly: event 2 is a SignerEnrolled, expected a "
        "AssemblyHeld"
    )
    assert book["db"].rows() == before


def test_a_resolution_contradicting_its_counts_is_refused(
    book: dict[str, Any], cli: Callable[..., Result]
) -> None:
    assembly = cli(
        "record",
        "assembly",
        "--kind",
        "extraordinary",
        "--date",
        "2022-06-21",
        "--place",
        "Bruxelles",
        "--present",
        "10",
        "--represented",
        "2",
        "--votes-represented",
        "12",
        "--key",
        str(book["founder"]),
    )
    assert assembly.code == 0, assembly.err
    before = book["db"].rows()
    result = cli(
        "record",
        "resolution",
        "--assembly",
        assembly.out.strip(),
        "--number",
        "1",
        "--subject",
        "Article 23",
        "--category",
        "statute_amendment",
        "--for",
        "8",
        "--against",
        "4",
        "--abstaining",
        "0",
        "--max-single",
        "1",
        "--majority",
        "three_quarters",
        "--adopted",
        "--key",
        str(book["founder"]),
    )
    assert result.code == 2
    assert result.err.strip() == (
        "error: --adopted: true contradicts the counts: 8 for, 4 against, 0 abstaining do not "
        "carry a three quarters majority"
    )
    assert book["db"].rows() == before
    effective = orjson.loads(cli("show", assembly.out.strip(), "--json").out)["effective"]
    assert effective == "2022-06-21"


MINUTES = """
[assembly]
kind = "extraordinary"
date = "2022-06-21"
place = "Bruxelles"
shareholders_present = 131
shareholders_represented = 24
votes_represented = 155

[[resolution]]
number = 1
subject = "Modification de l'article 1 : forme juridique"
category = "statute_amendment"
votes_for = 150
votes_against = 3
votes_abstaining = 2
max_votes_single_shareholder = 1
majority_required = "three_quarters"
adopted = true

  [[resolution.article]]
  number = "1"
  title_fr = "Forme et dénomination"
  text_fr_file = "art1.fr.md"

  [resolution.legal_form]
  from = "scrl_fs"
  to = "sces_agreee"

[[resolution]]
number = 2
subject = "Modification de l'article 23 : mandat gratuit"
category = "statute_amendment"
votes_for = 149
votes_against = 4
votes_abstaining = 2
max_votes_single_shareholder = 1
majority_required = "three_quarters"
adopted = true

  [[resolution.article]]
  number = "23"
  title_fr = "Mandat"
  text_fr = "Le mandat d'administrateur est gratuit, sauf décision de l'assemblée générale."
"""


def test_minutes_in_one_go(
    book: dict[str, Any], cli: Callable[..., Result], tmp_path: Path
) -> None:
    (tmp_path / "art1.fr.md").write_text("La société est une société coopérative agréée.\n")
    (tmp_path / "age.toml").write_text(MINUTES)
    result = cli("record", "minutes", str(tmp_path / "age.toml"), "--key", str(book["founder"]))
    assert result.code == 0, result.err
    lines = [line.split("\t") for line in result.out.splitlines()]
    assert lines == [
        ["3", "AssemblyHeld"],
        ["4", "ResolutionVoted"],
        ["5", "StatuteArticleAdopted"],
        ["6", "LegalFormChanged"],
        ["7", "ResolutionVoted"],
        ["8", "StatuteArticleAdopted"],
    ]
    events = {e["seq"]: e for e in map(orjson.loads, cli("log", "--json").out.splitlines())}
    assert events[4]["payload"]["assembly"] == 3
    assert events[5]["payload"]["resolution"] == 4 and events[6]["payload"]["resolution"] == 4
    assert events[8]["payload"]["resolution"] == 7
    assert events[5]["payload"]["text_fr"] == "La société est une société coopérative agréée.\n"
    assert {e["effective"] for e in events.values() if e["seq"] >= 3} == {"2022-06-21"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("votes_for = 149", "votes_for = 1"), "[[resolution]] #2 adopted"),
        (('number = "23"', "number = 23"), "number"),
        (('text_fr_file = "art1.fr.md"', 'text_fr_file = "nope.md"'), "cannot read"),
        (("votes_represented = 155", "votes_represented = 155\nbogus = 1"), "bogus: no such field"),
        (("date = ", "date = 2022-13-01 #"), "not TOML"),
    ],
)
def test_minutes_failing_half_way_write_nothing(
    book: dict[str, Any],
    cli: Callable[..., Result],
    tmp_path: Path,
    change: tuple[str, str],
    message: str,
) -> None:
    (tmp_path / "art1.fr.md").write_text("texte\n")
    (tmp_path / "bad.toml").write_text(MINUTES.replace(*change))
    before = book["db"].rows()
    result = cli("record", "minutes", str(tmp_path / "bad.toml"), "--key", str(book["founder"]))
    assert result.code == 2, result
    assert message in result.err and len(result.err.strip().splitlines()) == 1
    assert book["db"].rows() == before


MINUTES_FILES = (
    "a minutes file may name only files in its own folder or below, by a relative path without '..'"
)


@pytest.fixture
def minutes_folder(tmp_path: Path) -> Path:
    """tmp_path/minutes/ with texts inside, and a file beside it that must stay out of a ledger,
    reachable through a symlink to the file and one to its folder."""
    folder = tmp_path / "minutes"
    (folder / "sub").mkdir(parents=True)
    (folder / "art1.fr.md").write_text("La société est une société coopérative agréée.\n")
    (folder / "sub" / "art1.fr.md").write_text("Texte rangé dans un sous-dossier.\n")
    (folder / "sub" / "art23.fr.md").symlink_to(folder / "art1.fr.md")
    (tmp_path / "secret.txt").write_text("not for the ledger\n")
    (folder / "link.md").symlink_to(tmp_path / "secret.txt")
    (folder / "out").symlink_to(tmp_path, target_is_directory=True)
    return folder


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("{outside}/secret.txt", "'{outside}/secret.txt' is an absolute path"),
        ("../secret.txt", "'../secret.txt' has a '..' part"),
        ("sub/../art1.fr.md", "'sub/../art1.fr.md' has a '..' part"),  # inside, still refused
        ("link.md", "'link.md' leads to {outside}/secret.txt, outside {folder}"),
        ("out/secret.txt", "'out/secret.txt' leads to {outside}/secret.txt, outside {folder}"),
    ],
    ids=["absolute", "parent", "dot-dot-inside", "symlink", "symlinked-folder"],
)
def test_minutes_name_only_files_in_their_folder(
    book: dict[str, Any], cli: Callable[..., Result], minutes_folder: Path, path: str, why: str
) -> None:
    outside, folder = minutes_folder.parent.resolve(), minutes_folder.resolve()
    path, why = path.format(outside=outside), why.format(outside=outside, folder=folder)
    minutes = minutes_folder / "age.toml"
    minutes.write_text(MINUTES.replace('"art1.fr.md"', f"'{path}'"))
    before = book["db"].rows()
    result = cli("record", "minutes", str(minutes), "--key", str(book["founder"]))
    assert (result.code, result.out, result.err) == (
        2,
        "",
        f"error: {minutes} [[resolution]] #1 article #1 text_fr_file: {why}; {MINUTES_FILES}\n",
    )
    assert book["db"].rows() == before


def test_minutes_read_files_in_subfolders(
    book: dict[str, Any], cli: Callable[..., Result], minutes_folder: Path
) -> None:
    inline = next(line for line in MINUTES.splitlines() if "text_fr = " in line)
    text = MINUTES.replace('"art1.fr.md"', '"sub/art1.fr.md"')
    (minutes_folder / "age.toml").write_text(
        text.replace(inline, 'text_fr_file = "sub/art23.fr.md"')
    )
    # A relative minutes path: its folder is relative too, and still the bound.
    result = cli("record", "minutes", "minutes/age.toml", "--key", str(book["founder"]))
    assert result.code == 0, result.err
    events = {e["seq"]: e for e in map(orjson.loads, cli("log", "--json").out.splitlines())}
    assert events[5]["payload"]["text_fr"] == "Texte rangé dans un sous-dossier.\n"
    # A symlink that stays in the folder is followed.
    assert events[8]["payload"]["text_fr"] == "La société est une société coopérative agréée.\n"


def test_text_files_named_on_the_command_line_are_read_as_given(
    book: dict[str, Any],
    cli: Callable[..., Result],
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "art.md"
    elsewhere.write_text("Texte hors du dossier courant.\n")
    typed = os.path.relpath(elsewhere, tmp_path)  # the working folder; starts with ..
    assert typed.startswith("..")
    result = cli(
        "record", "article", "--number", "23", "--title", "Mandat", "--text-file", typed,
        "--deed", "statuts", "--effective", "2019-05-01", "--key", str(book["founder"]),
    )  # fmt: skip
    assert result.code == 0, result.err
    shown = orjson.loads(cli("show", result.out.strip(), "--json").out)
    assert shown["payload"]["text_fr"] == "Texte hors du dossier courant.\n"


FIGURES = """name,value,unit,qualifier,label_fr
turnover,198000000,EUR,>,chiffre d'affaires
advisers,87,people,,conseiller·es
zero_rate_loans_amount,219949,EUR,=,"prêts à taux 0%, montant"
"""


def test_figures_from_csv(book: dict[str, Any], cli: Callable[..., Result], tmp_path: Path) -> None:
    (tmp_path / "f.csv").write_text(FIGURES)
    result = cli(
        "record",
        "metrics",
        "--year",
        "2025",
        "--file",
        str(tmp_path / "f.csv"),
        "--key",
        str(book["founder"]),
    )
    assert result.code == 0, result.err
    events = [
        orjson.loads(x) for x in cli("log", "--json", "--type", "MetricSubmitted").out.splitlines()
    ]
    assert [e["payload"] for e in events] == [
        {
            "year": 2025,
            "name": "turnover",
            "value": "198000000",
            "unit": "EUR",
            "qualifier": ">",
            "label_fr": "chiffre d'affaires",
        },
        {
            "year": 2025,
            "name": "advisers",
            "value": "87",
            "unit": "people",
            "label_fr": "conseiller·es",
        },
        {
            "year": 2025,
            "name": "zero_rate_loans_amount",
            "value": "219949",
            "unit": "EUR",
            "qualifier": "=",
            "label_fr": "prêts à taux 0%, montant",
        },
    ]
    assert {e["effective"] for e in events} == {"2025-12-31"}


def test_figures_as_a_belgian_spreadsheet_saves_them(
    book: dict[str, Any], cli: Callable[..., Result], tmp_path: Path
) -> None:
    """A UTF-8 BOM, ';' between cells and ',' as the decimal mark are read; digits grouped by
    thousands are refused, saying how to write the number; nothing is written then."""

    def record(text: str, *more: str) -> Result:
        (tmp_path / "be.csv").write_bytes(text.encode("utf-8"))
        return cli("record", "metrics", "--year", "2025", "--file", str(tmp_path / "be.csv"),
                   "--key", str(book["founder"]), *more)  # fmt: skip

    grouped = record("\ufeffname;value;unit\nturnover;198.000.000;EUR\n")
    assert grouped.code == 2
    assert grouped.err.strip().endswith(
        "line 2, column value: '198.000.000' groups its digits (thousands separators); write "
        "'198000000'"
    )
    done = record("\ufeffname;value;unit;label_fr\nturnover;198000000;EUR;chiffre d'affaires\n"
                  "rate;0,06;%;taux\n")  # fmt: skip
    assert done.code == 0, done.err
    events = [
        orjson.loads(x)["payload"]
        for x in cli("log", "--json", "--type", "MetricSubmitted").out.splitlines()
    ]
    assert [(e["name"], e["value"]) for e in events] == [
        ("turnover", "198000000"),
        ("rate", "0.06"),
    ]
    assert events[0]["label_fr"] == "chiffre d'affaires"

    twice = record("name;value;unit;label_fr\nturnover;198000000;EUR;chiffre d'affaires\n"
                   "rate;0,06;%;taux\n")  # fmt: skip
    assert twice.code == 2 and "holds these 2 figures for 2025 already (--again" in twice.err
    typo = record("name;value;unit\nturnovr;1;EUR\n")
    assert typo.code == 2
    assert "'turnovr' is not a figure this ledger holds; did you mean turnover?" in typo.err
    assert "column name" in typo.err and "(--new-metric to record a new one)" in typo.err
    rows = book["db"].rows()
    assert record("name;value;unit\nturnovr;1;EUR\n", "--new-metric").code == 0
    assert len(book["db"].rows()) == len(rows) + 1
    again = record("name;value;unit\nturnover;198000000;EUR\n", "--again")
    assert again.code == 0, again.err


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [
        (
            FIGURES + 'loans,"219,949",EUR,,\n',
            "line 5, column value: '219,949' uses a decimal comma; write '219.949'",
        ),
        (FIGURES + "loans,12,EUR,about,\n", "line 5, column qualifier"),
        (FIGURES + "loans,12\n", "line 5: the row does not have as many cells"),
        ("name,amount,unit\nx,1,EUR\n", "line 1: columns must be"),
        ("name,value,unit\n", "no figures"),
    ],
)
def test_figures_failing_half_way_write_nothing(
    book: dict[str, Any], cli: Callable[..., Result], tmp_path: Path, csv_text: str, message: str
) -> None:
    (tmp_path / "f.csv").write_text(csv_text)
    before = book["db"].rows()
    result = cli(
        "record",
        "metrics",
        "--year",
        "2025",
        "--file",
        str(tmp_path / "f.csv"),
        "--key",
        str(book["founder"]),
    )
    assert result.code == 2 and message in result.err, result.err
    assert book["db"].rows() == before


@pytest.mark.parametrize(
    ("header", "repeated"),
    [
        ("name,value,unit,value", "column value"),
        ("name,value,unit,label_fr,label_fr", "column label_fr"),
        ("name,value,unit,unit,label_fr,value", "columns value,unit"),
    ],
)
def test_figures_with_a_column_twice_are_refused(
    book: dict[str, Any], cli: Callable[..., Result], tmp_path: Path, header: str, repeated: str
) -> None:
    """csv.DictReader would keep the last cell of a repeated column and drop the other."""
    figures = tmp_path / "f.csv"
    cells = {"name": "turnover", "value": "198000000", "unit": "EUR", "label_fr": "chiffre"}
    row = ",".join(cells[c] for c in header.split(","))
    figures.write_text(f"{header}\n{row}\n")
    before = book["db"].rows()
    result = cli(
        "record", "metrics", "--year", "2025", "--file", str(figures), "--key", str(book["founder"])
    )
    assert (result.code, result.out, result.err) == (
        2,
        "",
        f"error: {figures}: line 1: duplicated {repeated}; each column may appear only once: "
        "delete the repeats\n",
    )
    assert book["db"].rows() == before


def test_articles_say_what_they_provide_for(
    book: dict[str, Any], cli: Callable[..., Result], tmp_path: Path
) -> None:
    """An article records the conditions it provides for (any case); one recorded without
    gets them from ``record article-provides --article N``; compliance follows."""
    (tmp_path / "a.md").write_text("Texte de l'article.", encoding="utf-8")
    key = str(book["founder"])

    def article(number: str, *provides: str) -> Result:
        return cli("record", "article", "--number", number, "--text-file", str(tmp_path / "a.md"),
                   "--deed", "statuts", "--effective", "2019-05-01",
                   *[x for p in provides for x in ("--provides", p)], "--key", key)  # fmt: skip

    def status(condition: str) -> str:
        found = orjson.loads(cli("compliance", "--year", "2025", "--json").out)
        return next(c["status"] for c in found["conditions"] if c["id"] == condition)

    # The board reviewed 2025, so that what is judged here is the articles alone.
    meeting = cli("record", "board-meeting", "--date", "2026-04-20", "--directors-present", "5",
                  "--key", str(book["board"]))  # fmt: skip
    for reviewed in ("SE4", "SE5"):
        done = cli("record", "board-review", "--meeting", meeting.out.strip(), "--year", "2025",
                   "--condition", reviewed, "--finding", "compliant", "--note", "statuts",
                   "--key", str(book["board"]))  # fmt: skip
        assert done.code == 0, done.err
    first = article("44", "se4", "SE1")
    assert first.code == 0, first.err
    shown = orjson.loads(cli("show", first.out.strip(), "--json").out)
    assert shown["payload"]["provides"] == ["SE4", "SE1"]
    assert status("SE4") == "met"
    before = book["db"].rows()
    for provides, said in (
        ("SE9", "SE9 is not judged by the articles"),
        ("SE10", "'SE10' is not a condition"),
    ):
        refused = article("45", provides)
        assert refused.code == 2 and refused.err.startswith("error: --provides: "), refused.err
        assert said in refused.err
    assert book["db"].rows() == before

    plain = article("14")
    assert plain.code == 0 and status("SE5") == "breached"
    text = cli("compliance", "--year", "2025").out
    assert "finding: aucun article des statuts en vigueur n'y pourvoit" in text  # --lang fr
    assert "(event 0)" not in text
    assert (
        "finding: geen artikel van de geldende statuten voorziet erin"
        in cli("compliance", "--year", "2025", "--lang", "nl").out
    )
    found = orjson.loads(cli("compliance", "--year", "2025", "--json", "--lang", "en").out)
    [se5] = [c for c in found["conditions"] if c["id"] == "SE5"]
    assert se5["findings"] == [
        {"seq": 0, "message": "no article of the statutes in force provides for SE5",
         "text": "no article of the statutes in force provides for it"}
    ]  # fmt: skip
    mapped = cli("record", "article-provides", "--article", "14", "--provides", "se5", "--key", key)
    assert mapped.code == 0, mapped.err
    assert status("SE5") == "met"
    for number, said in (("99", "no article 99 in this ledger"),):
        refused = cli("record", "article-provides", "--article", number, "--provides", "SE5",
                      "--key", key)  # fmt: skip
        assert (
            refused.code == 2
            and refused.err == f"error: --article: {said}; record it with: ledger record article\n"
        )
    repealed = cli("record", "article-repeal", "--number", "14", "--deed", "acte", "--effective",
                   "2025-01-01", "--key", key)  # fmt: skip
    assert repealed.code == 0, repealed.err
    refused = cli(
        "record", "article-provides", "--article", "14", "--provides", "SE5", "--key", key
    )
    assert refused.code == 2 and "article 14 was repealed by event" in refused.err
    assert cli("verify").code == 0


def test_a_dividend_rate_is_read_as_people_write_it(
    book: dict[str, Any], cli: Callable[..., Result]
) -> None:
    """7, 7% and 7 % all mean 7 %; what is not a rate is refused with "6 for 6 %", as is a
    decimal comma, and nothing is written."""

    def allocate(rate: str) -> Result:
        return cli("record", "profit-allocation", "--year", "2025", "--result", "100",
                   "--reserved-for-purpose", "10", "--total-dividend", "7", "--dividend-rate",
                   rate, "--nominal-capital", "100", "--key", str(book["founder"]))  # fmt: skip

    seqs = []
    for rate in ("7", "7%", " 7 % ", "7.5%"):
        done = allocate(rate)
        assert done.code == 0, done.err
        seqs.append(done.out.strip())
    rates = [
        orjson.loads(cli("show", seq, "--json").out)["payload"]["dividend_rate"] for seq in seqs
    ]
    assert rates == ["7", "7", "7", "7.5"]
    before = book["db"].rows()
    for rate, said in (
        ("7,5%", "'7,5%' uses a decimal comma; write '7.5'"),
        ("0.07x", "e.g. 6 for 6 % (or 6%), 0 for none"),
        ("-6%", "is not a rate"),
        ("%", "is not a rate"),
    ):
        refused = allocate(rate)
        assert refused.code == 2 and said in refused.err, (rate, refused.err)
        assert refused.err.startswith("error: --dividend-rate: ")
    assert book["db"].rows() == before
    fixed = cli("correct", seqs[0], "--reason", "rate", "--set", "dividend_rate=6%",
                "--key", str(book["founder"]))  # fmt: skip
    assert fixed.code == 0, fixed.err
    shown = orjson.loads(cli("show", fixed.out.strip(), "--json").out)
    assert shown["payload"]["replacement"]["dividend_rate"] == "6"


def test_correct_and_retract(book: dict[str, Any], cli: Callable[..., Result]) -> None:
    figure = cli(
        "record",
        "metric",
        "--year",
        "2024",
        "--name",
        "advisers",
        "--value",
        "86",
        "--unit",
        "people",
        "--key",
        str(book["founder"]),
    ).out.strip()
    fixed = cli(
        "correct",
        figure,
        "--reason",
        "typo",
        "--set",
        "value=87",
        "--set",
        "year=2025",
        "--key",
        str(book["founder"]),
    )
    assert fixed.code == 0, fixed.err
    shown = orjson.loads(cli("show", fixed.out.strip(), "--json").out)
    assert shown["payload"] == {
        "event": int(figure),
        "reason": "typo",
        "replacement": {"year": 2025, "name": "advisers", "value": "87", "unit": "people"},
    }
    assert shown["effective"] == "2025-12-31"  # folds into the corrected year
    bad = cli(
        "correct", figure, "--reason", "x", "--set", "value=8,7", "--key", str(book["founder"])
    )
    assert bad.code == 2 and "decimal comma" in bad.err
    none = cli(
        "correct", figure, "--reason", "x", "--set", "value=86", "--key", str(book["founder"])
    )
    assert none.code == 2 and "nothing changes" in none.err
    genesis = cli("retract", "1", "--reason", "x", "--key", str(book["founder"]))
    assert genesis.code == 2 and "a LedgerOpened cannot be corrected or retracted" in genesis.err
    assert cli("retract", figure, "--reason", "double", "--key", str(book["founder"])).code == 0
    again = cli(
        "correct", figure, "--reason", "x", "--set", "value=88", "--key", str(book["founder"])
    )
    assert again.code == 2 and "was retracted" in again.err


def test_log_and_show_say_what_later_events_did_and_a_run_is_retracted_at_once(
    book: dict[str, Any], cli: Callable[..., Result]
) -> None:
    key = str(book["founder"])
    seqs = [cli(*metric_args(key, str(v), name=f"figure{v}")).out.strip() for v in range(1, 5)]
    fixed = cli("correct", seqs[0], "--reason", "typo", "--set", "value=9", "--key", key)
    before = book["db"].rows()
    # The run reaches the correction, which nothing retracts: none of it is retracted.
    refused = cli("retract", f"{seqs[1]}..{fixed.out.strip()}", "--reason", "dup", "--key", key)
    assert refused.code == 2 and "cannot be corrected or retracted" in refused.err
    assert book["db"].rows() == before
    for run, said in (("9..8", "expected 1 <= first <= last"), ("x", "not an event number"),
                      ("1..5000", "names 5000 events; at most 1000")):  # fmt: skip
        bad = cli("retract", run, "--reason", "dup", "--key", key)
        assert bad.code == 2 and bad.err.startswith("error: SEQ: ") and said in bad.err, bad.err
    run = cli("retract", f"{seqs[1]}..{seqs[2]}", "--reason", "dup", "--key", key)
    assert run.code == 0, run.err
    made = run.out.split()
    assert run.err == f"retracted events {seqs[1]}..{seqs[2]} at events {made[0]}..{made[1]}\n"
    lines = {line.split()[0]: line for line in cli("log").out.splitlines()}
    assert lines[seqs[0]].endswith(f"  (corrected by {fixed.out.strip()})")
    assert lines[seqs[1]].endswith(f"  [retracted by {made[0]}]")
    assert lines[seqs[3]].endswith("}")
    shown = orjson.loads(cli("show", seqs[2], "--json").out)
    assert shown["retracted_by"] == int(made[1]) and "corrected_by" not in shown
    assert f"state        (corrected by {fixed.out.strip()})" in cli("show", seqs[0]).out
    assert "state" not in cli("show", seqs[3]).out
    single = cli("retract", seqs[3], "--reason", "dup", "--key", key)
    assert single.err == f"retracted event {seqs[3]} at event {single.out.strip()}\n"


def test_correcting_needs_the_right_to_sign_the_corrected_type(
    book: dict[str, Any], cli: Callable[..., Result], tmp_path: Path
) -> None:
    assembly = cli(
        "record",
        "assembly",
        "--kind",
        "ordinary",
        "--date",
        "2025-06-10",
        "--place",
        "Bruxelles",
        "--present",
        "10",
        "--represented",
        "2",
        "--votes-represented",
        "12",
        "--key",
        str(book["founder"]),
    ).out.strip()
    # The board key (board, treasurer) may correct, but not an AssemblyHeld (secretary only).
    result = cli(
        "correct", assembly, "--reason", "x", "--set", "place=Liège", "--key", str(book["board"])
    )
    assert result.code == 2 and "AssemblyHeld needs role secretary" in result.err


def test_log_filters(book: dict[str, Any], cli: Callable[..., Result], tmp_path: Path) -> None:
    (tmp_path / "f.csv").write_text(FIGURES)
    assert (
        cli(
            "record",
            "metrics",
            "--year",
            "2025",
            "--file",
            str(tmp_path / "f.csv"),
            "--key",
            str(book["founder"]),
        ).code
        == 0
    )
    assert (
        cli(
            "record",
            "metric",
            "--year",
            "2024",
            "--name",
            "x",
            "--value",
            "1",
            "--unit",
            "u",
            "--key",
            str(book["board"]),
        ).code
        == 0
    )
    seqs = lambda *a: [orjson.loads(x)["seq"] for x in cli("log", "--json", *a).out.splitlines()]  # noqa: E731
    assert seqs("--type", "MetricSubmitted") == [3, 4, 5, 6]
    assert seqs("--year", "2025") == [3, 4, 5]
    board_id = keyfiles.load_public_key(Path(f"{book['board']}.pub")).key_id
    assert seqs("--signer", board_id[:8]) == [6]
    assert seqs("--type", "MetricSubmitted", "--type", "SignerEnrolled", "--year", "2024") == [6]
    bad = cli("log", "--type", "Metric")
    assert bad.code == 2 and "'Metric' is not an event type" in bad.err


def test_show(book: dict[str, Any], cli: Callable[..., Result]) -> None:
    text = cli("show", "2").out
    assert "type         SignerEnrolled (schema v1)" in text and "name: Board" in text
    missing = cli("show", "9")
    assert missing.code == 2 and missing.err.strip() == "error: SEQ: no event 9; the ledger has 2"


def test_record_help_for_every_form(cli: Callable[..., Result]) -> None:
    for form in forms.FORMS:
        result = cli("record", form.command, "--help")
        assert result.code == 0 and form.type in result.out


def test_a_date_that_does_not_exist_is_refused(
    book: dict[str, Any], cli: Callable[..., Result]
) -> None:
    # The schema's pattern takes 2025-02-30; the decision date becomes the effective date,
    # which verify would then call malformed.
    before = book["db"].rows()
    result = cli(
        "record", "accreditation", "--kind", "social_enterprise", "--authority", "SPF Economie",
        "--decision-date", "2025-02-30", "--reference", "AR 2025/1", "--key", str(book["founder"]),
    )  # fmt: skip
    assert (result.code, result.err) == (
        2,
        "error: --decision-date: '2025-02-30' is not a real date (day is out of range for month)\n",
    )
    assert book["db"].rows() == before


def test_unused_key_file_is_refused_before_anything(
    book: dict[str, Any], cli: Callable[..., Result], tmp_path: Path
) -> None:
    stranger = make_key(tmp_path, "Stranger")
    result = cli(*metric_args(stranger, "1", name="x", unit="u"))
    assert result.code == 2 and "unknown-signer" in result.err


@pytest.mark.parametrize(
    ("draft", "field"),
    [
        (Draft("MetricSubmitted", {**METRIC, "name": "m\ud800"}), "name"),  # a lone surrogate
        (Draft("MetricSubmitted", METRIC, effective="2025-02-30"), "effective"),
        (Draft("MetricSubmitted", METRIC, effective=20251231), "effective"),  # type: ignore[arg-type]
        (Draft("AccreditationGranted", ACCREDITATION), "decision_date"),  # the effective date
        (Draft("AccreditationGranted", {**ACCREDITATION, **GOOD_DAY, "note": "\ud800"}), "payload"),
    ],
)
def test_library_append_refuses_what_no_envelope_may_hold(
    tmp_path: Path, draft: Draft, field: str
) -> None:
    """The library checks what the CLI's parsers would have: a payload outside the canonical
    domain, an effective date that is not one. Nothing is written."""
    key = keys.generate("Secretary")
    ledger = Ledger.create(str(tmp_path / "l.db"), enterprise="E", number="0896.755.397", key=key)
    with pytest.raises(InputError) as raised:
        ledger.append(key, [Draft("MetricSubmitted", METRIC), draft])
    assert raised.value.field == field
    assert ledger.size() == 1
    ledger.close()
