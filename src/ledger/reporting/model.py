"""The special report as data: what a year's report says, in one language, built from the events
alone (pure). Rendering it into Markdown, HTML or typst is the templates' job
(``projections/report/``); ``ledger.reports`` does the I/O.

The structure follows the seed report: the legal framework, the conditions with the statute
articles and decisions that meet them, the board's control, the year's activities and means
(narratives and figures), the findings, and the provenance that lets anyone check it.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ledger.core import conditions
from ledger.core.catalogue import REPORTED
from ledger.projections.projection import Compliance, Finding, World, evaluate, late_entries
from ledger.reporting import charts, formatting
from ledger.resources import data_dir

FORMAT = "coop-ledger/report/v1"
REPORT_TYPES = REPORTED
LANGUAGES = conditions.LANGUAGES
# Narrative sections the report places outside "activities and means": the legal framework's
# prose goes with the computed framework; the seed's conditions table is replaced by the
# computed one ("" places a section nowhere).
NARRATIVE_PLACES = {"cadre-juridique": "framework", "obligations-legales": ""}
# Conditions a year's report meets by being written and adopted (the special report itself).
SELF_FULFILLED = frozenset({"SE9", "CO6"})


@dataclass(frozen=True, slots=True)
class Provenance:
    """What a report rests on, written into it so that it can be recomputed and checked."""

    ledger: str
    size: int
    root: str
    as_known_at: str | None
    last_recorded_at: str  # of event ``size``: the instant "as known now" means

    def marker(self, year: int, lang: str, fmt: str) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "ledger": self.ledger,
            "year": year,
            "lang": lang,
            "output": fmt,
            "size": self.size,
            "root": self.root,
            "as_known_at": self.as_known_at,
        }


@functools.cache
def messages(lang: str) -> dict[str, Any]:
    if lang not in LANGUAGES:
        raise ValueError(f"no report language {lang!r}; expected one of {', '.join(LANGUAGES)}")
    path = data_dir("projections") / "report" / f"messages.{lang}.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))


def finding_text(finding: Finding, lang: str) -> str:
    """A finding in ``lang``, as the report words it (under its condition, which it does not
    repeat)."""
    return str(messages(lang)["findings_text"][finding.code]).format(**dict(finding.args))


@functools.cache
def key_figures() -> frozenset[str]:
    path = data_dir("projections") / "report" / "report.toml"
    return frozenset(tomllib.loads(path.read_text(encoding="utf-8"))["key_figures"])


def new_world() -> World:
    # The report shows the newest figure per year and name: older ones need not be kept.
    return World(tracked=REPORT_TYPES, newest={"MetricSubmitted": ("year", "name")})


def _seqs(numbers: Iterable[int]) -> str:
    return ", ".join(str(n) for n in sorted(set(numbers)))


class _Builder:
    def __init__(self, world: World, year: int, lang: str, provenance: Provenance) -> None:
        self.world, self.year, self.lang, self.provenance = world, year, lang, provenance
        self.m = messages(lang)
        self.events = world.events
        self.cited: set[int] = set()
        self.by_type: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for seq in sorted(self.events):
            event = self.events[seq]
            self.by_type.setdefault(event["type"], []).append((seq, event))

    def of(self, event_type: str) -> list[tuple[int, dict[str, Any]]]:
        return self.by_type.get(event_type, [])

    def say(self, key: str, **args: Any) -> str:
        if "seq" in args:
            self.cited.add(int(args["seq"]))
        return str(self.m[key]).format(**args)

    def say_counted(self, key: str, count: int | str, **args: Any) -> str:
        """``say`` in the form that goes with ``count``: ``{key}_one`` for CLDR's "one"."""
        one = f"{key}_one"
        chosen = one if one in self.m and formatting.plural(count, self.lang) == "one" else key
        return self.say(chosen, **args)

    def date(self, iso: str) -> str:
        return formatting.date(iso, self.lang)

    def enterprise(self) -> tuple[str, str]:
        opened = self.of("LedgerOpened")
        if not opened:
            return "", ""
        payload = opened[0][1]["payload"]
        return payload["enterprise"], payload["number"]

    # --- sections ------------------------------------------------------------------------

    def framework(self) -> dict[str, Any]:
        until = f"{self.year}-12-31"
        changes = []
        for seq, e in self.of("LegalFormChanged"):
            if e["effective"] > until:
                continue
            p = e["payload"]
            forms = self.m["legal_form"]
            text = self.say(
                "legal_form_change",
                seq=seq,
                date=self.date(e["effective"]),
                **{"from": forms[p["from"]], "to": forms[p["to"]]},
            )
            vote = self.events.get(p.get("resolution", 0))
            assembly = self.events.get(vote["payload"]["assembly"]) if vote else None
            if vote and assembly:
                text += " " + self.say(
                    "legal_form_by_assembly",
                    seq=vote["payload"]["assembly"],
                    kind=self.m["assembly_kind"][assembly["payload"]["kind"]],
                    date=self.date(assembly["effective"]),
                    resolution=vote["payload"]["number"],
                )
            changes.append(text)
        amendments = []
        for seq, e in self.of("AssemblyHeld"):
            if e["effective"] > until:
                continue
            adopted = [
                (s, v)
                for s, v in self.of("ResolutionVoted")
                if v["payload"]["assembly"] == seq
                and v["payload"]["adopted"]
                and v["payload"]["category"] == "statute_amendment"
            ]
            if not adopted:
                continue
            subjects = []
            for s, v in adopted:
                self.cited.add(s)
                numbers = [
                    a["payload"]["number"]
                    for _, a in self.of("StatuteArticleAdopted")
                    if a["payload"].get("resolution") == s
                ]
                subject = v["payload"]["subject"]
                if numbers:
                    subject += " (" + self.say("articles_adopted", numbers=", ".join(numbers)) + ")"
                subjects.append(subject)
            amendments.append(
                self.say(
                    "amendment",
                    seq=seq,
                    kind=self.m["assembly_kind"][e["payload"]["kind"]],
                    date=self.date(e["effective"]),
                    subjects="; ".join(subjects),
                )
            )
        accreditations = []
        for kind in ("AccreditationPresumed", "AccreditationGranted", "AccreditationWithdrawn"):
            for seq, e in self.of(kind):
                if e["effective"] > until:
                    continue
                p = e["payload"]
                label = self.m["accreditation_kind"][p["kind"]]
                if kind == "AccreditationGranted":
                    accreditations.append(
                        self.say(
                            "accreditation_granted",
                            seq=seq,
                            kind=label,
                            date=self.date(p["decision_date"]),
                            authority=p["authority"],
                            reference=p["reference"],
                        )
                    )
                elif kind == "AccreditationPresumed":
                    accreditations.append(
                        self.say(
                            "accreditation_presumed",
                            seq=seq,
                            kind=label,
                            date=self.date(p["since"]),
                            basis=p["legal_basis"],
                        )
                    )
                else:
                    accreditations.append(
                        self.say(
                            "accreditation_withdrawn",
                            seq=seq,
                            kind=label,
                            date=self.date(p["decision_date"]),
                        )
                    )
        return {
            "legal_form_changes": changes,
            "amendments": amendments,
            "accreditations": accreditations,
        }

    def adopted(self) -> bool:
        return any(e["payload"]["year"] == self.year for _, e in self.of("SpecialReportAdopted"))

    def conditions(self, result: Compliance) -> list[dict[str, Any]]:
        """The condition table: the compliance projection's status of each, for this year and
        instant, and the means that evidence it (articles, decisions)."""
        articles = {seq for seq, _ in self.of("StatuteArticleAdopted")}
        rows = []
        for c in result.conditions:
            means = []
            if c.id in SELF_FULFILLED and not self.adopted():
                # The report being written is the special report on its own year: "c'est le
                # rôle du présent rapport", as the seed puts it; until the board adopts it,
                # the condition stands as the projection says (not evidenced, or late).
                means.append(self.m["this_report"])
            for seq in c.evidence:
                if seq in articles:
                    means.append(
                        self.say(
                            "article_ref", seq=seq, number=self.events[seq]["payload"]["number"]
                        )
                    )
            decisions = [s for s in c.evidence if s not in articles]
            if decisions:
                self.cited.update(decisions)
                means.append(
                    self.say_counted("decisions_ref", len(decisions), seqs=_seqs(decisions))
                )
            rows.append(
                {
                    "id": c.id,
                    "title": c.title,
                    "status": c.status,
                    "status_label": self.m["status"][c.status],
                    "means": means or [self.m["no_means"]],
                }
            )
        return rows

    def board(self) -> list[str]:
        lines = []
        for seq, e in self.of("BoardReviewRecorded"):
            p = e["payload"]
            if p["year"] != self.year:
                continue
            evidence = p.get("evidence", [])
            self.cited.update(evidence)
            extra = (
                self.say_counted("review_evidence", len(evidence), seqs=_seqs(evidence))
                if evidence
                else ""
            )
            lines.append(
                self.say(
                    "review",
                    seq=seq,
                    date=self.date(e["effective"]),
                    condition=p["condition"],
                    finding=self.m["finding"][p["finding"]],
                    note=p["note"].strip(),
                    evidence=extra,
                )
            )
        return lines

    def narratives(self, place: str = "activities") -> list[dict[str, Any]]:
        """The year's narratives in the report's language that belong in ``place``."""
        sections: dict[str, tuple[int, dict[str, Any]]] = {}
        for seq, e in self.of("NarrativeSubmitted"):
            p = e["payload"]
            where = NARRATIVE_PLACES.get(p["section"], "activities")
            if p["year"] == self.year and p["language"] == self.lang and where == place:
                sections[p["section"]] = (seq, p)  # a later one replaces an earlier one
        out = []
        for seq, p in sorted(sections.values(), key=lambda sp: sp[0]):
            self.cited.add(seq)
            out.append(
                {
                    "seq": seq,
                    "section": p["section"],
                    "title": p.get("title", ""),
                    "paragraphs": [x.strip() for x in p["text"].split("\n\n") if x.strip()],
                }
            )
        return out

    def figures(self) -> tuple[list[str], list[dict[str, str]]]:
        latest: dict[tuple[int, str], tuple[int, dict[str, Any]]] = {}
        for seq, e in self.of("MetricSubmitted"):
            p = e["payload"]
            latest[(p["year"], p["name"])] = (seq, p)  # a later figure replaces an earlier one
        lines = []
        for (year, _), (seq, p) in sorted(latest.items(), key=lambda kv: kv[1][0]):
            if year != self.year:
                continue
            label = p.get(f"label_{self.lang}") or p.get("label_fr") or p["name"]
            phrase = self._phrase(p)
            event = self.events[seq]
            if event["recorded"] != seq:
                # Cited by the correction that set it, the value first filed beside it.
                filed = self._phrase(event["filed"])
                line = self.say("figure_line_corrected", seq=event["recorded"], label=label,
                                phrase=phrase, filed=filed, original=seq)  # fmt: skip
                self.cited.add(event["recorded"])
            else:
                line = self.say("figure_line", seq=seq, label=label, phrase=phrase)
            lines.append(line + (self.m["late_mark"] if self.world.late(seq) else ""))
        series: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for (year, name), (_, p) in sorted(latest.items()):
            if p.get("period", "annual") == "annual":
                series.setdefault(name, []).append((year, p))
        svgs = []
        for name, points in sorted(series.items()):
            years = [y for y, _ in points]
            if self.year not in years or (len(points) < 2 and name not in key_figures()):
                continue
            p = dict(points)[self.year]
            title = p.get(f"label_{self.lang}") or p.get("label_fr") or name
            svgs.append(
                {
                    "title": title,
                    "svg": charts.bar_chart(
                        title,
                        [(str(y), q["value"]) for y, q in points],
                        unit=self.m["units"].get(p["unit"], p["unit"]),
                        lang=self.lang,
                    ),
                }
            )
        return lines, svgs

    def _phrase(self, p: dict[str, Any]) -> str:
        one = formatting.plural(p["value"], self.lang) == "one"
        units = self.m["units_one"] if one else self.m["units"]
        unit = units.get(p["unit"], p["unit"])
        return formatting.figure(p["value"], unit, p.get("qualifier"), self.lang)

    def late(self) -> list[str]:
        """The events the report cites that were recorded late (``projection.late_entries``)."""
        return [
            self.say(
                "late_line",
                seq=e.seq,
                kind=e.type,
                date=self.date(e.effective),
                recorded=e.recorded_by,
                size=e.checkpoint_size,
                year=e.covered_until,
            )
            for e in late_entries(self.world, self.cited)
        ]

    def findings(self, result: Compliance) -> list[str]:
        lines = []
        for c in result.conditions:
            for f in c.findings:
                text = finding_text(f, self.lang)
                # A finding of something missing has no event to point at (seq 0).
                line = "finding_line" if f.seq else "finding_line_unplaced"
                lines.append(self.say(line, seq=f.seq, condition=c.id, text=text))
        return lines

    def findings_none(self, result: Compliance) -> str:
        """What the findings section says when there is none: that every condition is met,
        or which the ledger does not evidence (no finding is not compliance)."""
        unproven = [c.id for c in result.conditions if c.status != "met"]
        if not unproven:
            return str(self.m["findings_none"])
        return self.say("findings_none_unproven", ids=", ".join(unproven))

    def provenance_text(self) -> str:
        p = self.provenance
        enterprise, number = self.enterprise()
        if p.as_known_at:
            known = self.say("known_at", instant=formatting.instant(p.as_known_at, self.lang))
        else:
            known = self.say("known_now", instant=formatting.instant(p.last_recorded_at, self.lang))
        return self.say(
            "provenance_text",
            ledger=p.ledger,
            enterprise=enterprise,
            number=number,
            size=p.size,
            root=p.root,
            known=known,
        )


def build(world: World, year: int, lang: str, provenance: Provenance) -> dict[str, Any]:
    """Everything a report of ``year`` in ``lang`` says, as plain data for the templates."""
    if not world.tracked >= REPORT_TYPES:
        raise ValueError("a report needs a World folded with report.REPORT_TYPES")
    b = _Builder(world, year, lang, provenance)
    result = evaluate(world, year, provenance.as_known_at, lang=lang)
    enterprise, number = b.enterprise()
    figures, svgs = b.figures()
    model = {
        "m": b.m,
        "year": year,
        "lang": lang,
        "enterprise": enterprise,
        "number": number,
        "title": b.m["title"],
        "subtitle": str(b.m["subtitle"]).format(year=year, enterprise=enterprise),
        "framework": b.framework(),
        "framework_narratives": b.narratives("framework"),
        "conditions": b.conditions(result),
        "board": b.board(),
        "narratives": b.narratives(),
        "figures": figures,
        "charts": svgs,
        "findings": b.findings(result),
        "findings_none": b.findings_none(result),
        "provenance": b.provenance_text(),
        "compliance": result,
    }
    model["late"] = b.late()
    model["cited"] = sorted(b.cited - {0})
    return model
