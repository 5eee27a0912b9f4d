"""The rules of the chain, each written once and called on every path that admits an event:
``Ledger.append`` before it signs; verify's fold, and its workers for the pages they take whole;
the offline audit and the import, which verify; ``checkpoint cosign`` and ``checkpoint record``;
and the projections, which fold what the store holds. Pure: the callers say what they know.

An event stands at its place when, in this order:

1. it links on (``check_link``): its seq is the next one, its ledger is this one, its ``prev`` is
   the id of the event before, its ``recorded_at`` is not earlier than any before it;
2. its payload is valid (``check_payload``): its type's JSON Schema at its version, then what a
   schema cannot say (``semantics.check_payload``: counts that agree, one-line fields without
   control or bidirectional-override characters, reasons that are not blank);
3. its signer may sign it (``signers.Registry.check``): enrolled before it, not revoked, holding
   a role allowed for the type;
4. its Ed25519 signature verifies (``keys.verify_signature``, on the verifier's workers);
5. what it says of earlier events holds (``check_context``): references point back to events of
   the types they name; a correction or retraction targets a correctable event that was not
   retracted, a correction's replacement is a valid payload of the target's type, and the signer
   holds a role allowed to sign the target's type; a redaction erases a personal field the
   target has, once; the votes a resolution counts fit the votes represented at its assembly;
   an event rests on an adopted resolution of its category, and an article adopted or repealed
   on one that reaches the majority the law or the statutes in force require
   (``statutes.required``); a change of the share register follows from the register so far
   (``register.problem``: a member admitted once, shares moved only by members who hold them).

Checkpoints: ``checkpoint.open_note`` (signed by a ledger key active where the checkpoint is
used, every known signature true, no cosignature dated after the moment it is judged at),
``check_against_tree`` (its size and root against the tree) and ``is_late`` (an event recorded
after a checkpoint that closed its year: ``checkpoint.Opened.covered_until`` says which year,
counting only the cosigners the auditor trusts).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from ledger.core import catalogue, conditions, personal, semantics, statutes
from ledger.core import register as share_register
from ledger.core.envelope import GENESIS_PREV, Envelope
from ledger.core.signers import Refusal, Registry
from ledger.errors import InputError

Problem = tuple[str, str]  # (field, message): what an input error names

# --- 1. the link ---------------------------------------------------------------------------


class Head(NamedTuple):
    """What the next event must link to."""

    seq: int  # its sequence number
    prev: str | None  # the id it must carry as ``prev``; None: unknown (after an unreadable one)
    recorded_at: str  # the latest recorded_at so far, which it may not precede


START = Head(1, GENESIS_PREV, "")


def check_link(ledger: str, head: Head, env: Envelope, stored: int) -> Refusal | None:
    """Whether ``env``, stored at position ``stored`` of ``ledger``, links on to ``head``."""
    if stored != head.seq:
        return Refusal("sequence-gap", f"expected event {head.seq}, found {stored}")
    if env.seq != stored:
        return Refusal("seq-mismatch", f"stored at {stored} but the entry says seq {env.seq}")
    if env.ledger != ledger:
        return Refusal("wrong-ledger", f"entry belongs to ledger {env.ledger}, not {ledger}")
    if head.prev is not None and env.prev != head.prev:
        return Refusal("chain-broken", f"prev is {env.prev[:16]}…, expected {head.prev[:16]}…")
    if env.recorded_at < head.recorded_at:
        return Refusal("time-reversed", f"recorded_at {env.recorded_at} < {head.recorded_at}")
    return None


# --- 2. the payload ------------------------------------------------------------------------


def payload_problem(event_type: str, version: int, payload: Mapping[str, Any]) -> Problem | None:
    """The first thing wrong with a payload of ``event_type`` at ``version``, as (field,
    message): its schema, then the rules a schema cannot say. Needs no other event."""
    try:
        catalogue.validate(event_type, version, payload)
    except InputError as e:
        return e.field, e.message
    return semantics.check_payload(event_type, version, payload)


def validate(event_type: str, version: int, payload: Mapping[str, Any]) -> None:
    """``payload_problem`` for a writer: raises ``InputError`` naming the field."""
    problem = payload_problem(event_type, version, payload)
    if problem is not None:
        raise InputError(*problem)


def check_payload(env: Envelope) -> Refusal | None:
    """``payload_problem`` of an envelope; a type the catalogue does not know is left to
    ``Registry.check`` (``unknown-type``)."""
    if env.type not in catalogue.BY_NAME:
        return None
    problem = payload_problem(env.type, env.schema, env.payload)
    return None if problem is None else Refusal("bad-payload", problem[1], problem[0])


# --- 5. what an event says of earlier ones ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """An earlier event, as far as the rules read it."""

    seq: int
    type: str
    schema: int
    facts: Mapping[str, Any]  # ``fact_fields`` of its payload, as corrected since


@functools.cache
def fact_fields(event_type: str, version: int) -> tuple[str, ...]:
    """The payload fields a later rule reads of an event: its type's ``facts``, and its
    personal fields (a redaction needs to know which it holds)."""
    known = catalogue.BY_NAME.get(event_type)
    own = known.facts if known is not None else ()
    return own + tuple(personal.fields(event_type, version))


@functools.cache
def needs_context(event_type: str, version: int) -> bool:
    """Whether an event of this type says something of earlier events (``check_context``), or
    is something later rules read (``fact_fields``): the verifier's fold must see it whole."""
    kind = catalogue.BY_NAME[event_type].kind if event_type in catalogue.BY_NAME else ""
    typed = any(
        "*" not in allowed for _, _, allowed in semantics.reference_fields(event_type, version)
    )
    return kind in ("correction", "redaction") or typed or bool(fact_fields(event_type, version))


# The types of the events ``Knowledge.remember`` keeps something of.
REMEMBERED = catalogue.names("correction", "redaction") | frozenset(
    t.name
    for t in catalogue.EVENT_TYPES
    if any(fact_fields(t.name, v) for v in catalogue.versions(t.name))
)


@dataclass
class Knowledge:
    """What the rules remember of the events before the one being judged: the facts of those
    later rules read (corrections applied), the retracted events, the redacted personal values.
    Subclasses say where any earlier event's type and schema come from (``kind_of``)."""

    facts: dict[int, dict[str, Any]] = field(default_factory=dict)
    retractions: set[int] = field(default_factory=set)
    redactions: dict[tuple[int, str], int] = field(default_factory=dict)  # → the redaction's seq
    # The share register so far, in ledger order (core/register), kept as events come.
    holdings: share_register.Register = field(default_factory=dict)

    def kind_of(self, seq: int) -> tuple[str, int] | None:
        """(type, schema) of event ``seq``; None when there is no such event."""
        raise NotImplementedError

    def target(self, seq: int) -> Target | None:
        found = self.kind_of(seq)
        return None if found is None else Target(seq, *found, self.facts.get(seq, {}))

    def retracted(self, seq: int) -> bool:
        return seq in self.retractions

    def redacted(self, seq: int, name: str) -> bool:
        return (seq, name) in self.redactions

    def of_type(self, event_type: str) -> Iterable[Target]:
        """The remembered events of ``event_type`` that carry facts."""
        for seq in sorted(self.facts):
            found = self.target(seq)
            if found is not None and found.type == event_type:
                yield found

    def remember(self, env: Envelope) -> None:
        """Fold in an event the rules admitted."""
        names = fact_fields(env.type, env.schema)
        if names:
            self.facts[env.seq] = _pick(env.payload, names)
        kind = catalogue.BY_NAME[env.type].kind if env.type in catalogue.BY_NAME else ""
        if kind == "redaction":
            self.redactions[(env.payload["event"], env.payload["field"])] = env.seq
        elif env.type == "EventRetracted":
            self.retractions.add(env.payload["event"])
        elif env.type == "EventCorrected":
            target = self.kind_of(env.payload["event"])
            names = fact_fields(*target) if target is not None else ()
            if names:
                self.facts[env.payload["event"]] = _pick(env.payload["replacement"], names)
        if env.type in share_register.CHANGES:
            share_register.apply(self.holdings, env.type, env.payload)
        elif kind == "correction":
            target = self.kind_of(env.payload["event"])
            if target is not None and target[0] in share_register.CHANGES:
                self.holdings = self.holdings_before(None)  # rare: fold the register again

    def holdings_before(self, seq: int | None) -> share_register.Register:
        """The share register of the events before ``seq`` (None: all), as corrected, the
        retracted ones left out."""
        found = sorted(
            (t.seq, t.type, t.facts)
            for event_type in share_register.CHANGES
            for t in self.of_type(event_type)
            if (seq is None or t.seq < seq) and not self.retracted(t.seq)
        )
        return share_register.fold((event_type, facts) for _, event_type, facts in found)


def _pick(payload: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    return {name: payload[name] for name in names if name in payload}


def check_context(env: Envelope, known: Knowledge, registry: Registry) -> Refusal | None:
    """Whether what ``env`` says of earlier events holds (rule 5). ``registry`` holds the
    signers before it; its payload passed ``check_payload``."""
    refusal = _references(env.seq, env.type, env.schema, env.payload, known)
    if refusal is not None:
        return refusal
    kind = catalogue.BY_NAME[env.type].kind
    if kind == "correction":
        return _correction(env, known, registry)
    if kind == "redaction":
        return _redaction(env, known)
    return _counts(env.seq, env.type, env.payload, known)


def _references(
    seq: int,
    event_type: str,
    version: int,
    payload: Mapping[str, Any],
    known: Knowledge,
    prefix: str = "",
) -> Refusal | None:
    for ref in semantics.references(event_type, version, payload):
        where = prefix + ref.field
        if ref.seq >= seq:
            return Refusal(
                "bad-reference", f"{ref.seq} is not an earlier event (this is event {seq})", where
            )
        if "*" in ref.allowed:
            continue  # any event before this one: the chain has no gaps
        target = known.target(ref.seq)
        if target is None:
            return Refusal("bad-reference", f"there is no event {ref.seq}", where)
        if not ref.admits(target.type):
            wanted = " or ".join(sorted(ref.allowed))
            return Refusal(
                "bad-reference", f"event {ref.seq} is a {target.type}, expected a {wanted}", where
            )
    return None


def _correction(env: Envelope, known: Knowledge, registry: Registry) -> Refusal | None:
    seq = env.payload["event"]
    target = known.target(seq)
    if target is None:
        return Refusal("bad-reference", f"there is no event {seq}", "event")
    if target.type in catalogue.NOT_CORRECTABLE:
        return Refusal(
            "bad-correction", f"a {target.type} cannot be corrected or retracted", "event"
        )
    if known.retracted(seq):
        return Refusal(
            "bad-correction", f"event {seq} was retracted; it cannot change any more", "event"
        )
    if env.type == "EventCorrected":
        replacement = env.payload["replacement"]
        problem = payload_problem(target.type, target.schema, replacement)
        if problem is not None:
            return Refusal("bad-correction", problem[1], f"replacement.{problem[0]}")
        refusal = _references(
            env.seq, target.type, target.schema, replacement, known, "replacement."
        ) or _counts(seq, target.type, replacement, known, "replacement.")
        if refusal is not None:
            return refusal
    # Correcting an event takes the right to sign it in the first place.
    refusal = registry.check(env._replace(type=target.type))
    if refusal is not None:
        return Refusal(refusal.reason, f"to correct or retract event {seq}: {refusal.detail}")
    return None


def _redaction(env: Envelope, known: Knowledge) -> Refusal | None:
    seq, name = env.payload["event"], env.payload["field"]
    target = known.target(seq)
    if target is None:
        return Refusal("bad-reference", f"there is no event {seq}", "event")
    held = personal.fields(target.type, target.schema)
    if name not in held:
        kept = ", ".join(held) or "none"
        return Refusal(
            "bad-redaction",
            f"{name!r} is not a personal field of {target.type} v{target.schema} "
            f"(personal fields: {kept})",
            "field",
        )
    if name not in target.facts:
        return Refusal("bad-redaction", f"event {seq} has no {name}", "field")
    if known.redacted(seq, name):
        return Refusal("bad-redaction", f"{name} of event {seq} is redacted already", "field")
    return None


def _counts(
    subject: int,
    event_type: str,
    payload: Mapping[str, Any],
    known: Knowledge,
    prefix: str = "",
) -> Refusal | None:
    """Counts that must fit another event's: the votes a resolution counts within the votes
    represented at its assembly, from either side. ``subject`` is the event ``payload``
    describes (itself, or the target of a correction)."""
    if event_type == "ResolutionVoted":
        assembly = known.target(payload["assembly"])
        represented = assembly.facts.get("votes_represented") if assembly else None
        cast = semantics.votes_cast(payload)
        if represented is not None and cast > represented:
            return Refusal(
                "bad-payload",
                f"{cast} votes cast ({payload['votes_for']} for, {payload['votes_against']} "
                f"against, {payload['votes_abstaining']} abstaining), more than the "
                f"{represented} votes represented at the assembly (event {payload['assembly']})",
                f"{prefix}votes_for",
            )
        for cited in DECIDED_BY:
            for carried in known.of_type(cited):
                if carried.facts.get("resolution") != subject or known.retracted(carried.seq):
                    continue
                found = _resting(cited, payload.get("category"), payload.get("adopted"))
                if found is None and cited in AMENDING:
                    short = _short_of(carried.seq, cited, carried.facts, payload, known)
                    found = None if short is None else ("votes_for", short)
                if found is not None:
                    return Refusal(
                        "bad-payload",
                        f"event {carried.seq} ({cited}) rests on this resolution: {found[1]}",
                        f"{prefix}{found[0]}",
                    )
    elif event_type in DECIDED_BY and "resolution" in payload:
        resolution = known.target(payload["resolution"])
        facts = resolution.facts if resolution is not None else {}
        found = _resting(event_type, facts.get("category"), facts.get("adopted"))
        if found is None and event_type in AMENDING and resolution is not None:
            short = _short_of(subject, event_type, payload, facts, known)
            found = None if short is None else ("resolution", short)
        if found is not None:
            return Refusal(
                "bad-reference",
                f"resolution event {payload['resolution']}: {found[1]}",
                f"{prefix}resolution",
            )
    elif event_type in share_register.CHANGES:
        held = known.holdings if not prefix else known.holdings_before(subject)
        problem = share_register.problem(held, event_type, payload)
        if problem is not None:
            return Refusal("bad-payload", problem[1], f"{prefix}{problem[0]}")
    elif event_type == "AssemblyHeld":
        for resolution in known.of_type("ResolutionVoted"):
            facts = resolution.facts
            if facts.get("assembly") != subject or known.retracted(resolution.seq):
                continue
            cast = semantics.votes_cast(facts)
            if cast > payload["votes_represented"]:
                return Refusal(
                    "bad-payload",
                    f"{payload['votes_represented']} votes represented, fewer than the {cast} "
                    f"votes cast on resolution event {resolution.seq}",
                    f"{prefix}votes_represented",
                )
    return None


def _resting(event_type: str, category: Any, adopted: Any) -> tuple[str, str] | None:
    """Why a resolution of ``category``, ``adopted`` or not, cannot carry an event of
    ``event_type``, as (the resolution's field at fault, why); None when it can. Both sides
    ask: the event citing it, and a correction of the resolution under what cites it."""
    wanted = DECIDED_BY[event_type]
    if category is not None and category != wanted:
        return "category", f"it is a {category} resolution; a {event_type} rests on a {wanted} one"
    if event_type in CARRIED and adopted is False:
        return (
            "adopted",
            f"it was rejected, and a rejected resolution carries no {CARRIED[event_type]}",
        )
    return None


def _short_of(
    article: int,
    event_type: str,
    change: Mapping[str, Any],
    votes: Mapping[str, Any],
    known: Knowledge,
) -> str | None:
    """Why ``votes`` fall short of the majority the adoption or repeal ``change`` (event
    ``article``, of ``event_type``) needs, by the law and the statutes in force before it
    (``statutes.required``); None when they reach it."""
    adopting = event_type == "StatuteArticleAdopted"
    needed = statutes.required(
        change["number"],
        change.get("provides", ()) if adopting else (),
        in_force(known, article),
        conditions.load().amendment,
    )
    cast = (votes["votes_for"], votes["votes_against"], votes["votes_abstaining"])
    if semantics.majority_reached(needed.majority, *cast):
        return None
    return (
        f"{cast[0]} for, {cast[1]} against and {cast[2]} abstaining do not reach the "
        f"{needed.majority.replace('_', ' ')} majority of the votes cast that "
        f"{needed.source} requires to {'adopt' if adopting else 'repeal'} article "
        f"{change['number']}"
    )


def in_force(known: Knowledge, before: int) -> dict[str, statutes.Article]:
    """The articles of the statutes in force before event ``before``, in the order the ledger
    recorded their adoptions, repeals and provisions (retracted ones left out)."""
    changes = sorted(
        (found.seq, found)
        for event_type in STATUTE_CHANGES
        for found in known.of_type(event_type)
        if found.seq < before and not known.retracted(found.seq)
    )
    articles: dict[str, statutes.Article] = {}
    for seq, found in changes:
        facts = found.facts
        if found.type == "StatuteArticleAdopted":
            articles[facts["number"]] = statutes.Article(
                facts["number"], seq, frozenset(facts.get("provides", ())),
                facts.get("amendment_majority"),
            )  # fmt: skip
        elif found.type == "StatuteArticleRepealed":
            articles.pop(facts["number"], None)
        else:
            for number, article in articles.items():
                if article.adoption == facts["adoption"]:
                    articles[number] = statutes.Article(
                        number, article.adoption, frozenset(facts["provides"]),
                        facts.get("amendment_majority"),
                    )  # fmt: skip
    return articles


STATUTE_CHANGES = (
    "StatuteArticleAdopted",
    "StatuteArticleRepealed",
    "StatuteArticleProvisionsRecorded",
)
# The events that amend the statutes, and so need the majority ``statutes.required`` says.
AMENDING = frozenset({"StatuteArticleAdopted", "StatuteArticleRepealed"})

# The category of the resolution each type rests on (catalogue.EventType.decided_by).
DECIDED_BY = {t.name: t.decided_by for t in catalogue.EVENT_TYPES if t.decided_by}

# What only an adopted resolution carries: the events that do it, and what they do.
CARRIED = {
    "StatuteArticleAdopted": "article adopted",
    "StatuteArticleRepealed": "article repealed",
    "LegalFormChanged": "change of legal form",
}


# --- checkpoints ---------------------------------------------------------------------------


def check_against_tree(
    size: int, root: bytes, have: int, root_at: Callable[[int], bytes], what: str
) -> tuple[int, Refusal] | None:
    """Whether a checkpoint (or audit state) of ``size`` events and ``root`` is the tree of a
    ledger of ``have`` events, whose root at any size is ``root_at``; the seq to blame and why
    when not. ``what`` names the claim in the detail (e.g. "the checkpoint")."""
    if size > have:
        return have + 1, Refusal("truncated", f"the ledger has {have} events; {what} covers {size}")
    mine = root_at(size)
    if mine != root:
        return size, Refusal(
            "checkpoint-mismatch",
            f"events 1..{size} hash to root {mine.hex()}, {what} says {root.hex()}",
        )
    return None


def closed_through(covered: tuple[int, int]) -> date:
    """The last day a checkpoint ``covered`` (its size, the last year it closed) closed."""
    return date(covered[1], 12, 31)


def is_late(seq: int, effective: date, covered: tuple[int, int]) -> bool:
    """Whether event ``seq`` of this effective date is a late entry by the checkpoint
    ``covered``: recorded after it, about a year it had closed."""
    return seq > covered[0] and effective <= closed_through(covered)


def posix(instant: str) -> int:
    """A ``recorded_at`` instant as POSIX seconds."""
    return int(datetime.fromisoformat(instant).timestamp())
