"""The second scenario, BioFerme (cli/bioferme, fictional): its own article numbers, an
extraordinary assembly where one amendment of article 22 fails and another passes, an ordinary
assembly that votes a dividend above the cap, and a board that forgets to review SE5. Replayed
by ``ledger demo --scenario bioferme`` through the real CLI; the tests say exactly what
``compliance`` and the special report make of it.

The missing review is a finding only once the 2024 report is due (2025-06-30): these tests
assume today is after that day, as it is from 2025-07 on.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import Result, run_here

from ledger.app import scenario

SCENARIO = scenario.named("bioferme")

# The event numbers the scenario's comments give (cli/bioferme/scenario.txt).
ARTICLES = {"1": 5, "3": 6, "4": 7, "14": 8, "22": 9, "31": 10, "33": 11, "40": 12, "44": 13}
AGE, FAILED, PASSED, NEW_ART22 = 17, 18, 19, 20
REVIEWS = {"SE1": 30, "SE2": 31, "SE3": 32, "SE4": 33, "SE6": 34, "SE7": 35, "SE8": 36}
REVIEWS |= {"SE9": 37}
ALLOCATION, ADOPTION = 42, 43

CAP_EN = "dividend rate 7 % of the nominal value exceeds the 6 % cap"
CAP_FR = "un taux de dividende de 7 % de la valeur nominale dépasse le plafond de 6 %"
REVIEW_EN = "no board review of SE5 for 2024, whose special report was due by 2025-06-30"
REVIEW_FR = (
    "aucun examen de la condition par le conseil d'administration pour 2024, alors que le "
    "rapport spécial était dû au plus tard le 2025-06-30"
)


@dataclass(frozen=True)
class Demo:
    result: Result
    folder: Path  # DIR: the keys, the ledger, the reports
    said: Path  # the folder as the demo names it: relative, since it chose it

    def run(self, *args: str) -> Result:
        """A ``ledger`` command on the demo's ledger, in this process."""
        return run_here("--ledger", str(self.folder / "ledger.db"), *args, cwd=self.folder)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The scenario replayed once for the module, with no --dir: the default folder is the
    scenario's own (bioferme-demo), in the folder the command runs in."""
    base = tmp_path_factory.mktemp("bioferme")
    result = run_here("demo", "--scenario", "bioferme", cwd=base)
    yield Demo(result, base / "bioferme-demo", Path("bioferme-demo"))


@pytest.fixture(scope="module")
def judged(demo: Demo) -> dict[str, dict[str, Any]]:
    """``compliance --year 2024 --json``, per condition id."""
    done = demo.run("compliance", "--year", "2024", "--json", "--strict")
    # --strict: exit 1, since the year has breached conditions.
    assert done.code == 1, done.err
    return {c["id"]: c for c in orjson.loads(done.out)["conditions"]}


@pytest.fixture(scope="module")
def events(demo: Demo) -> list[dict[str, Any]]:
    done = demo.run("log", "--json")
    assert done.code == 0, done.err
    return [orjson.loads(line) for line in done.out.splitlines()]


def test_demo_says_what_it_built(demo: Demo) -> None:
    assert demo.result.code == 0, demo.result.err + demo.result.out
    folder = demo.said
    lines = demo.result.out.splitlines()
    assert lines[0] == f"BioFerme demo in {folder}/"
    assert lines[1] == f"  scenario    36 CLI calls replayed (log: {folder / 'demo.log'})"
    # The ledger line counts the events verified, before the board adopts the report.
    assert lines[2].startswith(f"  ledger      {folder / 'ledger.db'}  (42 events, id ")
    assert lines[5] == (
        "  compliance  2024: SE1=met SE2=met SE3=breached SE4=met SE5=breached SE6=met "
        "SE7=met SE8=met SE9=met CO1=not_evidenced CO2=met CO3=breached CO4=met "
        "CO5=not_evidenced CO6=met"
    )
    reports = [folder / f"rapport-special-2024.fr.{fmt}" for fmt in ("md", "html", "pdf")]
    assert lines[6] == "  report      " + ", ".join(map(str, reports))
    # Adopted at the meeting where the board reviewed 2024, not at the last meeting held.
    assert lines[7] == "  adopted     by the board at event 43 (meeting 29), PDF hash recorded"
    for report in reports:
        checked = demo.run("report", "verify", str(demo.folder.parent / report))
        assert checked.code == 0, checked.err + checked.out


def test_the_ledger_verifies(demo: Demo) -> None:
    done = demo.run("verify")
    assert done.code == 0, done.err
    assert done.out.startswith("ok: 43 events verified; head ")


def test_compliance_2024_statuses_and_evidence(judged: dict[str, dict[str, Any]]) -> None:
    seen = {cid: (c["status"], c["evidence"]) for cid, c in judged.items()}
    a = ARTICLES
    assert seen == {
        # The statutes in force provide (their adoptions by deed), the board's compliant review
        # and what it cited add to them.
        "SE1": ("met", [a["3"], a["4"], REVIEWS["SE1"]]),
        "SE2": ("met", [a["3"], a["4"], REVIEWS["SE2"]]),
        "SE3": ("breached", [a["33"], a["40"], REVIEWS["SE3"], ALLOCATION]),
        "SE4": ("met", [a["44"], REVIEWS["SE4"]]),
        # Article 14 is in force, but the board never reviewed SE5 for 2024.
        "SE5": ("breached", [a["14"]]),
        # Article 22 as the passing resolution adopted it; the review cites that resolution.
        "SE6": ("met", [PASSED, NEW_ART22, REVIEWS["SE6"]]),
        # Both votes of the extraordinary assembly are one member one vote.
        "SE7": ("met", [a["31"], AGE, FAILED, PASSED, REVIEWS["SE7"]]),
        "SE8": ("met", [a["40"], REVIEWS["SE8"], ALLOCATION]),
        "SE9": ("met", [27, 28, REVIEWS["SE9"], ADOPTION]),
        "CO1": ("not_evidenced", []),
        "CO2": ("met", [a["31"], AGE, FAILED, PASSED]),
        "CO3": ("breached", [a["33"], ALLOCATION]),
        "CO4": ("met", [NEW_ART22]),
        "CO5": ("not_evidenced", []),
        "CO6": ("met", [ADOPTION]),
    }


def test_compliance_2024_findings(judged: dict[str, dict[str, Any]]) -> None:
    findings = {cid: c["findings"] for cid, c in judged.items() if c["findings"]}
    cap = {"seq": ALLOCATION, "message": CAP_EN, "text": CAP_FR}
    # Only the cap: the stated 7 % agrees with 31 500 EUR of 450 000 EUR, so no rate mismatch;
    # 100 000 EUR were reserved for the purpose first, so SE8 has no finding.
    assert findings == {
        "SE3": [cap],
        "SE5": [{"seq": 0, "message": REVIEW_EN, "text": REVIEW_FR}],
        "CO3": [cap],
    }
    assert all(not c["late"] for c in judged.values())


def test_the_failed_amendment_adopted_nothing(demo: Demo, events: list[dict[str, Any]]) -> None:
    votes = {e["seq"]: e["payload"] for e in events if e["type"] == "ResolutionVoted"}
    failed, passed = votes[FAILED], votes[PASSED]
    assert (failed["adopted"], failed["votes_for"], failed["votes_against"]) == (False, 120, 90)
    assert (passed["adopted"], passed["votes_for"], passed["votes_against"]) == (True, 190, 12)
    adoptions = [
        (e["seq"], e["payload"].get("resolution"))
        for e in events
        if e["type"] == "StatuteArticleAdopted" and e["payload"]["number"] == "22"
    ]
    # The deed's text, then the passing resolution's: nothing rests on the failed vote.
    assert adoptions == [(ARTICLES["22"], None), (NEW_ART22, PASSED)]
    assert not [e for e in events if e["payload"].get("resolution") == FAILED]
    # Nor can anything: the ledger refuses an article under a rejected resolution.
    copy = demo.folder.parent / "refused"
    copy.mkdir()
    shutil.copy(demo.folder / "ledger.db", copy / "ledger.db")
    text = SCENARIO.parent / "articles" / "art22-2024.fr.md"
    refused = run_here(
        "--ledger", str(copy / "ledger.db"), "record", "article", "--number", "22",
        "--title", "Mandat d'administrateur", "--text-file", str(text),
        "--resolution", str(FAILED), "--provides", "SE6",
        "--key", str(demo.folder / "keys" / "secretariat.key"),
        cwd=copy,
    )  # fmt: skip
    assert refused.code == 2
    assert refused.err == (
        f"error: --resolution: resolution event {FAILED}: it was rejected, and a rejected "
        "resolution carries no article adopted\n"
    )


def report(demo: Demo, lang: str) -> str:
    out = demo.folder.parent / f"report-2024.{lang}.md"
    args = ("--year", "2024", "--format", "md", "--lang", lang, "--out", str(out))
    done = demo.run("report", *args)
    assert done.code == 0, done.err
    return out.read_text(encoding="utf-8")


def section(text: str, heading: str) -> list[str]:
    """The lines of the Markdown section under ``## heading``, up to the next one, blank lines
    left out."""
    lines = text.splitlines()
    start = lines.index(f"## {heading}") + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("## ")), len(lines))
    return [line for line in lines[start:end] if line]


def rows(text: str, heading: str) -> dict[str, str]:
    """The conditions table of a report, per condition id: the whole row."""
    return {
        line.split(".", 1)[0].removeprefix("| "): line
        for line in section(text, heading)
        if line.startswith("| SE") or line.startswith("| CO")
    }


def test_report_fr(demo: Demo) -> None:
    text = report(demo, "fr")
    assert text.splitlines()[3] == "**Exercice 2024 — BioFerme SCES agréée**"
    # Only the resolution that amended the statutes; the rejected one amended nothing.
    assert section(text, "Le cadre juridique")[:2] == [
        "Les assemblées générales extraordinaires qui ont modifié les statuts :",
        "- Assemblée générale extraordinaire du 16 novembre 2024 (événement 17) : Modification "
        "de l'article 22 des statuts : mandat gratuit, sauf indemnité ou jetons de présence "
        "limités décidés par l'assemblée (proposition du conseil d'administration) (art. 22).",
    ]
    table = rows(text, "Les obligations légales")
    assert table["SE3"] == (
        "| SE3. Avantage patrimonial limité au taux fixé par le Roi | article 33 (événement 11); "
        "article 40 (événement 12); décisions : événements 32, 42 | non respectée |"
    )
    assert table["SE5"] == (
        "| SE5. Démission : au plus la valeur nominale de l'apport réel | article 14 "
        "(événement 8) | non respectée |"
    )
    assert table["SE6"] == (
        "| SE6. Mandat d'administrateur gratuit, sauf indemnité limitée décidée par "
        "l'assemblée | article 22 (événement 20); décisions : événements 19, 34 | respectée |"
    )
    assert table["CO3"] == (
        "| CO3. Dividende au plus 6 % de la valeur nominale, net de précompte | article 33 "
        "(événement 11); décision : événement 42 | non respectée |"
    )
    reviewed = section(text, "Le contrôle par l'organe d'administration")
    # Every condition but SE5, whose review is missing.
    assert [line.split(" : ")[0] for line in reviewed[1:]] == [
        f"- 20 mai 2025, condition {c}"
        for c in ("SE1", "SE2", "SE3", "SE4", "SE6", "SE7", "SE8", "SE9")
    ]
    assert section(text, "Constats") == [
        f"- Condition SE3 : {CAP_FR} (événement 42)",
        f"- Condition SE5 : {REVIEW_FR}",
        f"- Condition CO3 : {CAP_FR} (événement 42)",
    ]


def test_report_en(demo: Demo) -> None:
    text = report(demo, "en")
    table = rows(text, "The legal obligations")
    assert table["SE3"] == (
        "| SE3. Patrimonial benefit capped at the rate set by the King | article 33 (event 11); "
        "article 40 (event 12); decisions: events 32, 42 | breached |"
    )
    assert table["SE5"] == (
        "| SE5. Resignation: at most the nominal value of the actual contribution | article 14 "
        "(event 8) | breached |"
    )
    assert table["CO4"] == (
        "| CO4. Director mandates unpaid in principle | article 22 (event 20) | met |"
    )
    cap = "a dividend rate of 7 % of the nominal value exceeds the 6 % cap"
    assert section(text, "Findings") == [
        f"- Condition SE3: {cap} (event 42)",
        "- Condition SE5: no board review of the condition for 2024, whose special report was "
        "due by 2025-06-30",
        f"- Condition CO3: {cap} (event 42)",
    ]


def test_unknown_scenario_is_refused(tmp_path: Path) -> None:
    done = run_here("demo", "--scenario", "biofarm", cwd=tmp_path)
    assert done.code == 2
    choices = ", ".join(scenario.names())
    assert done.err == f"error: --scenario: no scenario 'biofarm'; choose one of {choices}\n"
    assert list(tmp_path.iterdir()) == []  # refused before any folder is made


def test_scenarios_are_the_folders_of_cli() -> None:
    assert {"bioferme", "smartcoop"} <= set(scenario.names())
    assert scenario.smartcoop() == scenario.named("smartcoop")
    assert scenario.title(SCENARIO) == "BioFerme"
    assert scenario.title(scenario.smartcoop()) == "SmartCoop"
    with pytest.raises(KeyError):
        scenario.named("../bioferme")
