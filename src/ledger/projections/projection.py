"""The compliance projection: did the cooperative meet each accreditation condition in a year,
as far as the ledger knew at an instant, and on what evidence?

Two steps, both pure. ``World`` folds the governance events (statute articles, assemblies and
votes, profit allocations, repayments, director pay, board reviews, special reports), applying
corrections and retractions as they come; the events it is given are those the rulebook admitted
(``Ledger.judged``: a correction from a key that may not sign its target never reaches it).
``evaluate`` reads a World against the rules (``projections/conditions.toml``) for one year, and
marks the evidence recorded late: after a checkpoint that had closed its year. Two time axes:
effective dates decide what was in force; ``as_known_at`` cuts the events at a recorded instant
(a prefix, since recorded-at never decreases), so "2023 as filed" ignores corrections recorded in
2025.
"""

from __future__ import annotations

import calendar
import dataclasses
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from ledger.core import register as share_register
from ledger.core import rulebook
from ledger.core.catalogue import CORRECTIONS, TRACKED
from ledger.core.conditions import Condition, Rules, load
from ledger.core.envelope import Envelope
from ledger.errors import InputError

STATUSES = ("met", "breached", "not_evidenced")


# --- the fold --------------------------------------------------------------------------------


@dataclass
class World:
    """The governance facts of a ledger prefix: tracked events by sequence number, each with its
    current effective date and payload (corrections applied, retractions removed), the seq of
    the event that last set them (``recorded``: itself, or its latest correction) and, once
    corrected, the payload first filed (``filed``)."""

    size: int = 0
    last_recorded_at: str = ""
    events: dict[int, dict[str, Any]] = field(default_factory=dict)
    # The checkpoints recorded in the prefix, as (size, last year they closed): what makes an
    # event recorded after one, about a year it closed, a late entry.
    closed: list[tuple[int, int]] = field(default_factory=list)
    # The same checkpoints as (size, the day of the Council's first cosignature): an event
    # beyond a checkpoint's size was not in the ledger on that day.
    cosigned: list[tuple[int, date]] = field(default_factory=list)
    tracked: frozenset[str] = field(default=TRACKED, compare=False)
    # Tracked types of which only the newest event per key (these payload fields) is kept, so
    # that a million figures cost a few hundred entries. Needs ``settled``: what the
    # corrections and retractions of the folded prefix do to such events, known beforehand
    # (the fold drops an event once a newer one shares its key, so a later correction could
    # not reach it): target seq -> (final payload, effective date, the correction's seq), or
    # None when retracted.
    newest: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False)
    settled: dict[int, tuple[dict[str, Any], str, int] | None] = field(
        default_factory=dict, compare=False
    )
    _newest_at: dict[tuple[Any, ...], int] = field(default_factory=dict, compare=False)

    def skip(self, seq: int, recorded_at: str) -> None:
        """Account for an event the projection has no use for (a figure, a key)."""
        self.size = seq
        self.last_recorded_at = recorded_at

    def apply(self, env: Envelope) -> None:
        self.skip(env.seq, env.recorded_at)
        if env.type in self.newest:
            self._keep_newest(env)
        elif env.type in self.tracked:
            self.events[env.seq] = {
                "type": env.type,
                "effective": env.effective,
                "payload": env.payload,
                "recorded": env.seq,
            }
        elif env.type in CORRECTIONS and env.payload["event"] in self.settled:
            return  # applied when its target was folded
        elif env.type == "EventCorrected":
            target = self.events.get(env.payload["event"])
            if target is not None:
                # What was first filed stays readable: a report shows a figure was corrected.
                target.setdefault("filed", target["payload"])
                target["payload"] = env.payload["replacement"]
                target["effective"] = env.effective
                target["recorded"] = env.seq
        elif env.type == "EventRetracted":
            self.events.pop(env.payload["event"], None)

    def _keep_newest(self, env: Envelope) -> None:
        payload, effective, recorded = env.payload, env.effective, env.seq
        filed: dict[str, Any] = {}
        if env.seq in self.settled:
            fate = self.settled[env.seq]
            if fate is None:
                return
            payload, effective, recorded = fate
            filed = {"filed": env.payload}
        key = (env.type, *(payload.get(name) for name in self.newest[env.type]))
        older = self._newest_at.get(key)
        if older is not None:
            del self.events[older]
        self._newest_at[key] = env.seq
        self.events[env.seq] = {
            "type": env.type,
            "effective": effective,
            "payload": payload,
            "recorded": recorded,
            **filed,
        }

    def recorded_after(self, seq: int) -> tuple[int, date] | None:
        """The latest-cosigned checkpoint that event ``seq`` is beyond, as (its size, the day
        the Council cosigned it): proof the event was recorded after that day. None: none."""
        before = [c for c in self.cosigned if c[0] < seq]
        return max(before, key=lambda c: c[1]) if before else None

    def late(self, seq: int) -> tuple[int, int] | None:
        """The checkpoint (size, year closed) by which tracked event ``seq``, as it stands now,
        is a late entry; None when it is not one."""
        event = self.events[seq]
        day = date.fromisoformat(event["effective"])
        return next((c for c in self.closed if rulebook.is_late(event["recorded"], day, c)), None)


def fold(
    events: Iterable[Envelope], as_known_at: str | None = None, world: World | None = None
) -> World:
    """Fold ``events`` (in ledger order) into ``world``, stopping past ``as_known_at``."""
    world = world if world is not None else World()
    for env in events:
        if as_known_at is not None and env.recorded_at > as_known_at:
            break
        world.apply(env)
    return world


# --- evaluation ------------------------------------------------------------------------------


# Findings are coded facts: a report words them in its language (projections/report/), the
# JSON and the CLI in English, from these templates.
FINDINGS_EN = {
    "no_article_provides": "no article of the statutes in force provides for {condition}",
    "article_repealed": "article {number} of the statutes, which provided for {condition}, was "
    "repealed",
    "vote_cap": "resolution {resolution} of the assembly of {date}: one shareholder cast {votes} "
    "votes, more than {cap} % of the {represented} votes represented",
    "dividend_cap": "dividend rate {rate} % of the nominal value exceeds the {cap} % cap",
    "dividend_rate_mismatch": "the dividend rate says {rate} %, but the total dividend of "
    "{dividend} EUR is {implied} % of the nominal capital of {capital} EUR",
    "attendance_register": "assembly of {date}: {came} shareholders present or represented, "
    "more than the {members} members in the share register that day",
    "vote_cap_register": "assembly of {date}: with {absent} of the {members} members in the "
    "share register absent, a shareholder present or represented held at least {shares} shares, "
    "more than {cap} % of the {represented} votes represented, where votes follow shares",
    "refusal_ungrounded": "the application of {applied} was refused on {decided} without an "
    "article of the statutes as its ground",
    "refusal_ground_not_in_force": "the application of {applied} was refused on {decided} on "
    "article {article} of the statutes, which was not in force that day",
    "reserve_missing": "a dividend of {dividend} EUR with no amount reserved for the purpose first",
    "repayment_cap": "member {member} was repaid {repaid} EUR, above the nominal value of the "
    "real contribution ({cap} EUR)",
    "remuneration_undecided": "director remuneration of {amount} EUR not decided by the assembly "
    "(event {resolution} is not an adopted vote on director remuneration)",
    "report_late": "special report on {year} adopted on {adopted}, after the legal delay "
    "({deadline})",
    "report_missing": "no special report on {year} adopted within the legal delay (by {deadline})",
    "report_recorded_late": "special report on {year} dated {adopted}, but recorded after "
    "checkpoint {size}, which the Council cosigned on {cosigned}, after the legal delay "
    "({deadline})",
    "review_breach": "the board recorded a breach of {condition} on {date}, not followed by a "
    "remediation",
    "review_missing": "no board review of {condition} for {year}, whose special report was due "
    "by {deadline}",
}


@dataclass(frozen=True, slots=True)
class Finding:
    seq: int  # the event at fault; 0 when the fault is something missing
    code: str  # a key of FINDINGS_EN
    args: tuple[tuple[str, str], ...]

    @property
    def message(self) -> str:
        return FINDINGS_EN[self.code].format(**dict(self.args))


# A rate is written to two decimals at most: a total dividend that rounds to the stated rate
# agrees with it.
RATE_TOLERANCE = Decimal("0.005")


def implied_rate(payload: dict[str, Any]) -> Decimal | None:
    """The dividend rate a profit allocation's total dividend makes of its nominal capital,
    in percent to two decimals; None without a capital to divide by."""
    capital = Decimal(payload["nominal_capital"])
    if capital <= 0:
        return None
    return (Decimal(payload["total_dividend"]) * 100 / capital).quantize(Decimal("0.01"))


def _finding(seq: int, code: str, **args: object) -> Finding:
    return Finding(seq, code, tuple(sorted((k, str(v)) for k, v in args.items())))


@dataclass(frozen=True, slots=True)
class Late:
    """Evidence recorded late: ``recorded_by`` (the event itself, or the correction that last
    changed it) came after checkpoint ``checkpoint_size``, which had closed ``covered_until``,
    the year of its effective date or a later one."""

    seq: int
    type: str
    effective: str
    recorded_by: int
    checkpoint_size: int
    covered_until: int

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "type": self.type,
            "effective": self.effective,
            "recorded_by": self.recorded_by,
            "checkpoint_size": self.checkpoint_size,
            "covered_until": f"{self.covered_until}-12-31",
        }


@dataclass(frozen=True, slots=True)
class ConditionResult:
    id: str
    title: str
    status: str
    evidence: tuple[int, ...]
    findings: tuple[Finding, ...]
    late: tuple[int, ...] = ()  # the evidence recorded late (``Compliance.late_entries``)


@dataclass(frozen=True, slots=True)
class Compliance:
    year: int
    as_known_at: str | None
    size: int  # events folded: the ledger prefix this answer rests on
    conditions: tuple[ConditionResult, ...]
    late_entries: tuple[Late, ...] = ()

    @property
    def breached(self) -> bool:
        return any(c.status == "breached" for c in self.conditions)

    def to_json(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "as_known_at": self.as_known_at,
            "conditions": [
                {
                    "id": c.id,
                    "title": c.title,
                    "status": c.status,
                    "evidence": list(c.evidence),
                    "findings": [{"seq": f.seq, "message": f.message} for f in c.findings],
                    "late": list(c.late),
                }
                for c in self.conditions
            ],
            "late_entries": [e.to_json() for e in self.late_entries],
        }


def instant(text: str) -> str:
    """An ``--as-known-at`` value as a recorded-at spelling (UTC, microseconds, ``Z``).

    A date alone means the end of that day (UTC); a time without zone is UTC.
    Raises ``ValueError`` for anything else.
    """
    if len(text) == 10:
        moment = datetime.combine(date.fromisoformat(text), datetime.max.time(), UTC)
    else:
        moment = datetime.fromisoformat(text)
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def compliance(
    events: Iterable[Envelope],
    year: int,
    as_known_at: str | None = None,
    *,
    lang: str = "fr",
    rules: Rules | None = None,
) -> Compliance:
    """Each condition's status in ``year``, from the events recorded up to ``as_known_at``
    (an instant as ``instant`` spells it; None: every event). Pure: same events, same answer."""
    world = fold(events, as_known_at)
    return evaluate(world, year, as_known_at, lang=lang, rules=rules)


def evaluate(
    world: World,
    year: int,
    as_known_at: str | None = None,
    *,
    lang: str = "fr",
    rules: Rules | None = None,
) -> Compliance:
    rules = rules or load()
    known = (as_known_at or world.last_recorded_at or f"{year}-12-31")[:10]
    context = _Year(world, year, date.fromisoformat(known), rules)
    results = tuple(context.condition(c, lang) for c in rules.conditions)
    late = late_entries(world, {seq for c in results for seq in c.evidence})
    marked = {e.seq for e in late}
    results = tuple(
        dataclasses.replace(c, late=tuple(s for s in c.evidence if s in marked)) for c in results
    )
    return Compliance(year, as_known_at, world.size, results, late)


def check_year(world: World, year: int, rules: Rules | None = None) -> None:
    """Whether ``year`` can be judged on ``world``: the rules have every parameter in force at
    its end, and the ledger holds something about it or before; ``InputError`` naming
    ``year`` when not (a year no one can answer for is bad input, not an empty report)."""
    rules = rules or load()
    end = date(year, 12, 31)
    starts = {
        name: min(p.valid_from for p in rules.parameters if p.name == name)
        for name in sorted({p.name for p in rules.parameters})
    }
    for name, since in starts.items():
        try:
            rules.parameter(name, end)
        except KeyError:
            first = max(starts.values()).year
            raise InputError(
                "year",
                f"{year} is before the compliance rules: {name} is in force from {since}; "
                f"give a year from {first}",
            ) from None
    # The year an event is about: its ``year`` field (a figure, a review, a report), else the
    # year it takes effect.
    about = [e["payload"].get("year", int(e["effective"][:4])) for e in world.events.values()]
    if about and year < min(about):
        raise InputError(
            "year",
            f"the ledger holds nothing about {year}: its earliest event is about {min(about)}; "
            f"give a year from {min(about)}",
        )


def late_entries(world: World, seqs: Iterable[int]) -> tuple[Late, ...]:
    """Those of the tracked events ``seqs`` that were recorded late (``World.late``)."""
    found = []
    for seq in sorted(set(seqs) & set(world.events)):
        closed = world.late(seq)
        if closed is not None:
            event = world.events[seq]
            found.append(Late(seq, event["type"], event["effective"], event["recorded"], *closed))
    return tuple(found)


def register_on(world: World, day: date) -> share_register.Register | None:
    """The share register on ``day``: its events effective by then, by date (the ledger's
    order within a day), corrections applied; None when the ledger kept no register by then."""
    changes = sorted(
        (e["effective"], seq, e["type"], e["payload"])
        for seq, e in world.events.items()
        if e["type"] in share_register.CHANGES and e["effective"] <= day.isoformat()
    )
    if not any(t == share_register.ADMISSION for _, _, t, _ in changes):
        return None
    return share_register.fold((t, p) for _, _, t, p in changes)


class _Year:
    """One year of a World, read against the rules."""

    def __init__(self, world: World, year: int, known: date, rules: Rules) -> None:
        self.world, self.year, self.known, self.rules = world, year, known, rules
        self.end = date(year, 12, 31)
        self.by_type: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for seq in sorted(world.events):
            event = world.events[seq]
            self.by_type.setdefault(event["type"], []).append((seq, event))

    def of(self, event_type: str) -> list[tuple[int, dict[str, Any]]]:
        return self.by_type.get(event_type, [])

    def in_year(self, event: dict[str, Any]) -> bool:
        effective: str = event["effective"]
        return effective[:4] == f"{self.year:04d}"

    def for_year(self, event_type: str) -> list[tuple[int, dict[str, Any]]]:
        """Events about the year: by their ``year`` field, else by their effective date."""
        return [
            (seq, e)
            for seq, e in self.of(event_type)
            if e["payload"].get("year", int(e["effective"][:4])) == self.year
        ]

    def condition(self, condition: Condition, lang: str) -> ConditionResult:
        evidence: set[int] = set()
        findings: list[Finding] = []
        supported = False
        for check in condition.checks:
            ok: bool = getattr(self, f"_{check}")(condition, evidence, findings)
            supported = supported or ok
        supported = self._reviews(condition, evidence, findings) or supported
        status = "breached" if findings else "met" if supported else "not_evidenced"
        return ConditionResult(
            condition.id,
            condition.titles[lang],
            status,
            tuple(sorted(evidence)),
            tuple(sorted(findings, key=lambda f: (f.seq, f.message))),
        )

    # Each check adds evidence and findings; it returns whether it positively supports the
    # condition (a clean record with nothing to show does not).

    def _articles(self, c: Condition, evidence: set[int], findings: list[Finding]) -> bool:
        """Supported when an article in force provides for ``c``; an article that did and was
        repealed since is a finding, and so is no article providing for it at all."""
        supporting = repealed = False
        for number, kind, seq, provides, sources in self.statutes:
            if c.id not in provides:
                continue
            if kind == "repealed":
                findings.append(_finding(seq, "article_repealed", number=number, condition=c.id))
                repealed = True
            else:
                evidence.update(sources)
                supporting = True
        if not supporting and not repealed:
            findings.append(_finding(0, "no_article_provides", condition=c.id))
        return supporting

    @functools.cached_property
    def statutes(self) -> list[tuple[str, str, int, frozenset[str], tuple[int, ...]]]:
        """Per article number in ``articles_in_force``: its state, the event of it, what it
        provides for and the events saying so. Read once a year, whatever the conditions."""
        return [
            (number, kind, seq, *self.provisions(number, seq))
            for number, (kind, seq) in self.articles_in_force().items()
        ]

    def provisions(self, number: str, upto: int) -> tuple[frozenset[str], tuple[int, ...]]:
        """What article ``number`` provides for, as its last adoption up to event ``upto`` says
        or a StatuteArticleProvisionsRecorded of that adoption since, and the events saying so."""
        adoptions = [
            seq
            for seq, e in self.of("StatuteArticleAdopted")
            if seq <= upto and e["payload"]["number"] == number
        ]
        if not adoptions:
            return frozenset(), ()
        adoption = adoptions[-1]
        recorded = self.recorded_provisions.get(adoption)
        if recorded is not None:
            return frozenset(recorded[1]), (adoption, recorded[0])
        provides = self.world.events[adoption]["payload"].get("provides", [])
        return frozenset(provides), (adoption,)

    @functools.cached_property
    def recorded_provisions(self) -> dict[int, tuple[int, list[str]]]:
        """Per adoption, the last StatuteArticleProvisionsRecorded of it: (its seq, provides)."""
        return {
            e["payload"]["adoption"]: (seq, e["payload"]["provides"])
            for seq, e in self.of("StatuteArticleProvisionsRecorded")
        }

    def articles_in_force(self, on: date | None = None) -> dict[str, tuple[str, int]]:
        """Per article number, its last adoption or repeal effective by ``on`` (None: the end
        of the year)."""
        day = on or self.end
        changes = sorted(
            (
                e["effective"],
                seq,
                "adopted" if e["type"] == "StatuteArticleAdopted" else "repealed",
                e["payload"]["number"],
            )
            for t in ("StatuteArticleAdopted", "StatuteArticleRepealed")
            for seq, e in self.of(t)
            if date.fromisoformat(e["effective"]) <= day
        )
        return {number: (kind, seq) for _, seq, kind, number in changes}

    def register_on(self, day: date) -> share_register.Register | None:
        return register_on(self.world, day)

    def _vote_cap(self, c: Condition, evidence: set[int], findings: list[Finding]) -> bool:
        cap = self.rules.parameter("vote_cap_percent", self.end)
        assemblies = dict(self.of("AssemblyHeld"))
        for seq, e in assemblies.items():
            if self.in_year(e):
                findings.extend(self._attendance(seq, e, cap))
        for seq, e in self.of("ResolutionVoted"):
            if not self.in_year(e):
                continue
            p = e["payload"]
            assembly = assemblies.get(p["assembly"])
            if assembly is None:
                continue
            represented = assembly["payload"]["votes_represented"]
            evidence.update((seq, p["assembly"]))
            if Decimal(p["max_votes_single_shareholder"]) * 100 > cap * represented:
                findings.append(
                    _finding(
                        seq,
                        "vote_cap",
                        resolution=p["number"],
                        date=assembly["effective"],
                        votes=p["max_votes_single_shareholder"],
                        cap=cap,
                        represented=represented,
                    )
                )
        return False

    def _attendance(self, seq: int, assembly: dict[str, Any], cap: Decimal) -> list[Finding]:
        """What the share register says of an assembly: no more shareholders present or
        represented than members; and, where votes follow shares (more votes than voters),
        the largest holding among those who came (at least the largest left once the
        absent took the largest with them) within the cap of the votes represented."""
        day = date.fromisoformat(assembly["effective"])
        held = self.register_on(day)
        if held is None:
            return []
        p = assembly["payload"]
        holdings = sorted((h.shares for h in share_register.members(held).values()), reverse=True)
        came = p["shareholders_present"] + p["shareholders_represented"]
        if came > len(holdings):
            return [_finding(seq, "attendance_register", date=day, came=came,
                             members=len(holdings))]  # fmt: skip
        absent, represented = len(holdings) - came, p["votes_represented"]
        if represented > came and absent < len(holdings):
            least = holdings[absent]
            if Decimal(least) * 100 > cap * represented:
                return [_finding(seq, "vote_cap_register", date=day, absent=absent,
                                 members=len(holdings), shares=least, cap=cap,
                                 represented=represented)]  # fmt: skip
        return []

    def _open_membership(self, c: Condition, evidence: set[int], findings: list[Finding]) -> bool:
        """Supported by members admitted in the year; a refusal needs an objective ground the
        statutes set: an article in force on the day of the refusal."""
        admitted = [seq for seq, e in self.of("MemberAdmitted") if self.in_year(e)]
        evidence.update(admitted)
        grounded = False
        for seq, e in self.of("MembershipRefused"):
            if not self.in_year(e):
                continue
            evidence.add(seq)
            p = e["payload"]
            article = p.get("article")
            args = {"applied": p["applied_on"], "decided": p["decided_on"]}
            if article is None:
                findings.append(_finding(seq, "refusal_ungrounded", **args))
                continue
            state = self.articles_in_force(date.fromisoformat(e["effective"])).get(article)
            if state is None or state[0] != "adopted":
                findings.append(_finding(seq, "refusal_ground_not_in_force", article=article,
                                         **args))  # fmt: skip
            else:
                evidence.add(state[1])
                grounded = True
        return bool(admitted) or grounded

    def _dividend_cap(self, c: Condition, evidence: set[int], findings: list[Finding]) -> bool:
        cap = self.rules.parameter("dividend_cap_percent", self.end)
        for seq, e in self.for_year("ProfitAllocated"):
            evidence.add(seq)
            p = e["payload"]
            rate, implied = Decimal(p["dividend_rate"]), implied_rate(p)
            if implied is not None and abs(implied - rate) > RATE_TOLERANCE:
                # The total paid is what shareholders got: the cap is judged on it too.
                findings.append(
                    _finding(seq, "dividend_rate_mismatch", rate=rate, implied=implied,
                             dividend=p["total_dividend"], capital=p["nominal_capital"])
                )  # fmt: skip
                rate = max(rate, implied)
            if rate > cap:
                findings.append(_finding(seq, "dividend_cap", rate=rate, cap=cap))
        return False

    def _reserve_first(self, c: Condition, evidence: set[int], findings: list[Finding]) -> bool:
        for seq, e in self.for_year("ProfitAllocated"):
            p = e["payload"]
            evidence.add(seq)
            if Decimal(p["total_dividend"]) > 0 and Decimal(p["reserved_for_purpose"]) <= 0:
                findings.append(_finding(seq, "reserve_missing", dividend=p["total_dividend"]))
        return False

    def _repayment_cap(self, c: Condition, evidence: set[int], findings: list[Finding]) -> bool:
        for seq, e in self.of("ShareholderResigned"):
            if not self.in_year(e):
                continue
            p = e["payload"]
            evidence.add(seq)
            cap = min(Decimal(p["nominal_value"]), Decimal(p["amount_paid_in"]))
            if Decimal(p["amount_repaid"]) > cap:
                findings.append(
                    _finding(
                        seq,
                        "repayment_cap",
                        member=p["member_number"],
                        repaid=p["amount_repaid"],
                        cap=cap,
                    )
                )
        return False

    def _remuneration(self, c: Condition, evidence: set[int], findings: list[Finding]) -> bool:
        resolutions = dict(self.of("ResolutionVoted"))
        for seq, e in self.of("DirectorRemunerationDecided"):
            if not self._applies_in_year(e):
                continue
            p = e["payload"]
            evidence.add(seq)
            vote = resolutions.get(p["resolution"])
            decided = (
                vote is not None
                and vote["payload"]["adopted"]
                and vote["payload"]["category"] == "director_remuneration"
            )
            if decided:
                evidence.add(p["resolution"])
            else:
                findings.append(
                    _finding(
                        seq,
                        "remuneration_undecided",
                        amount=p["amount"],
                        resolution=p["resolution"],
                    )
                )
        return False

    def _applies_in_year(self, e: dict[str, Any]) -> bool:
        p = e["payload"]
        start = date.fromisoformat(p.get("valid_from", e["effective"]))
        until = p.get("valid_until")
        return start <= self.end and (until is None or date.fromisoformat(until).year >= self.year)

    @functools.cached_property
    def deadline(self) -> date:
        """The last day the special report on the year may be adopted."""
        months = int(self.rules.parameter("report_delay_months", self.end))
        month = 12 + months
        due_year, due_month = self.year + (month - 1) // 12, (month - 1) % 12 + 1
        return date(due_year, due_month, calendar.monthrange(due_year, due_month)[1])

    def _special_report(self, c: Condition, evidence: set[int], findings: list[Finding]) -> bool:
        deadline = self.deadline
        reports = self.for_year("SpecialReportAdopted")
        for seq, e in reports:
            evidence.add(seq)
            adopted = date.fromisoformat(e["effective"])
            seen = self.world.recorded_after(seq)
            if adopted > deadline:
                findings.append(
                    _finding(seq, "report_late", year=self.year, adopted=adopted, deadline=deadline)
                )
            elif seen is not None and seen[1] > deadline:
                # The meeting's date is the secretary's word; the Council's cosignature on a
                # tree without the report proves when the ledger still did not hold it.
                findings.append(
                    _finding(seq, "report_recorded_late", year=self.year, adopted=adopted,
                             size=seen[0], cosigned=seen[1], deadline=deadline)
                )  # fmt: skip
        if not reports and self.known > deadline:
            findings.append(_finding(0, "report_missing", year=self.year, deadline=deadline))
        return bool(reports)

    def _board_review(self, c: Condition, evidence: set[int], findings: list[Finding]) -> bool:
        """Once the year's special report is due, the board has reviewed ``c`` for the year
        (what the review found is ``_reviews``'s); a finding when it has not."""
        if self.known <= self.deadline or any(
            e["payload"]["condition"] == c.id for _, e in self.for_year("BoardReviewRecorded")
        ):
            return False
        findings.append(
            _finding(0, "review_missing", condition=c.id, year=self.year, deadline=self.deadline)
        )
        return False

    def _reviews(self, c: Condition, evidence: set[int], findings: list[Finding]) -> bool:
        reviews = sorted(
            (
                (e["effective"], seq, e)
                for seq, e in self.for_year("BoardReviewRecorded")
                if e["payload"]["condition"] == c.id
            ),
            key=lambda r: (r[0], r[1]),
        )
        if not reviews:
            return False
        for _, seq, e in reviews:
            if e["payload"]["finding"] != "breach":
                evidence.add(seq)
                evidence.update(e["payload"].get("evidence", []))
        _, last_seq, last = reviews[-1]
        if last["payload"]["finding"] == "breach":
            findings.append(
                _finding(last_seq, "review_breach", condition=c.id, date=last["effective"])
            )
            return False
        return True
