"""The audit checks everything the writer checks: attacks by a hostile cooperative that holds its
own keys, its files and the Python API, on a cooperative that is not SmartCoop (BioFerme, an
organic-farming SC). Each attack appends events signed with the cooperative's real keys straight
into the store, the way ``Ledger.append`` would write them but without its checks, or edits the
store's files; then ``verify``, the offline ``audit`` of its bundle, ``import`` and the
projections must each name the first bad event and why (exit 1), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import Database, Result, run_here

from ledger.app import commands, forms, keyfiles, transparency
from ledger.chain.ledger import Ledger
from ledger.chain.verify import TrustedCheckpoint, verify_ledger
from ledger.core import conditions, keys, semantics
from ledger.core.draft import Draft
from ledger.core.envelope import Envelope, Row, entry_bytes
from ledger.errors import InputError, IntegrityError
from ledger.projections import projected
from ledger.reporting import documents
from ledger.store import open_store
from ledger.store.tree import LedgerTree
from ledger.tlog import checkpoint, merkle

NUMBER = "0403.170.701"
# The cooperative records from 2026-03-01 09:00 on (its ledger's clock); the Council cosigns
# just before, so its cosignatures close 2025.
COUNCIL_TIME = int(datetime(2026, 3, 1, 8, tzinfo=UTC).timestamp())
CLOSED = 2025


@dataclass
class Coop:
    """BioFerme's ledger, its people's keys, and the Council's key (outside the ledger)."""

    db: Database
    ledger: Ledger
    founder: keys.SigningKey  # admin and secretary
    board: keys.SigningKey
    treasurer: keys.SigningKey
    council: keys.SigningKey
    seqs: dict[str, int]

    def forge(
        self,
        key: keys.SigningKey,
        event_type: str,
        payload: dict[str, Any],
        *,
        effective: str = "2025-12-31",
        schema: int = 1,
        recorded_at: str | None = None,
    ) -> int:
        """Sign an event with ``key`` on the head and write it, tree nodes and all, through the
        store: everything ``Ledger.append`` writes, none of what it checks."""
        head = self.ledger.head()
        assert head is not None
        last = head.envelope
        env = Envelope(
            ledger=last.ledger,
            seq=last.seq + 1,
            prev=head.id,
            type=event_type,
            schema=schema,
            effective=effective,
            recorded_at=recorded_at or last.recorded_at,
            signer=key.public.key_id,
            payload=payload,
        )
        entry = entry_bytes(env, key.sign(env.signing_input()))
        tree = LedgerTree(self.ledger.store, self.ledger.id).compact_range(last.seq)
        nodes = tree.append(merkle.leaf_hash(entry))
        self.ledger.store.append(self.ledger.id, [Row(env.seq, event_type, entry)], nodes)
        return env.seq

    def failures(self, **options: Any) -> list[tuple[int, str]]:
        result = verify_ledger(self.ledger.store, self.ledger.id, **options)
        return [(f.seq, f.reason) for f in result.failures]

    def bundle(self) -> Path:
        path = self.db.folder / "coop.bundle"
        path.unlink(missing_ok=True)
        transparency.export(self.ledger, path)
        return path

    def audited(self, **options: Any) -> list[tuple[int, str]]:
        result = transparency.audit_bundle(self.bundle(), [self.council.public], **options)
        return [(f.seq, f.reason) for f in result.failures]


def _enrol(key: keys.SigningKey, *roles: str) -> Draft:
    return commands.enrolment(key.public, key.public.name, roles)


@pytest.fixture
def coop(db: Database) -> Iterator[Coop]:
    """BioFerme: its founder, board and treasurer enrolled; an assembly with one resolution, a
    board meeting and its review, a profit allocation, a figure and a resignation with a
    member's name (personal data)."""
    founder, board = keys.generate("Anne Claes"), keys.generate("Conseil d'administration")
    treasurer, council = keys.generate("Luc Maes"), keys.generate("Conseil national")
    clock = iter(datetime(2026, 3, 1, 9, tzinfo=UTC) + timedelta(minutes=i) for i in range(999))
    ledger = Ledger.create(
        db.location,
        enterprise="BioFerme",
        number=NUMBER,
        key=founder,
        clock=lambda: next(clock),
    )
    ledger.append(founder, [_enrol(board, "board"), _enrol(treasurer, "treasurer")])
    [assembly, resolution] = ledger.append(
        founder,
        [
            Draft(
                "AssemblyHeld",
                {
                    "kind": "ordinary",
                    "date": "2025-06-12",
                    "place": "Gembloux",
                    "shareholders_present": 40,
                    "shareholders_represented": 10,
                    "votes_represented": 300,
                },
            ),
            Draft(
                "ResolutionVoted",
                {
                    "assembly": 0,
                    "number": 1,
                    "subject": "Affectation du résultat 2024",
                    "category": "profit_allocation",
                    "votes_for": 250,
                    "votes_against": 20,
                    "votes_abstaining": 10,
                    "max_votes_single_shareholder": 12,
                    "majority_required": "simple",
                    "adopted": True,
                },
                links={"assembly": 0},
            ),
        ],
    )
    [meeting] = ledger.append(
        board, [Draft("BoardMeetingHeld", {"date": "2026-02-20", "directors_present": 5})]
    )
    m = meeting.envelope.seq
    [review] = ledger.append(
        board,
        [
            Draft(
                "BoardReviewRecorded",
                {"meeting": m, "year": 2025, "condition": "SE4", "finding": "compliant",
                 "note": "Statuts, article 14."},
            )
        ],
    )  # fmt: skip
    [profit] = ledger.append(
        treasurer,
        [
            Draft(
                "ProfitAllocated",
                {"year": 2025, "result": "12000", "reserved_for_purpose": "3000",
                 "total_dividend": "500", "dividend_rate": "2", "nominal_capital": "25000",
                 "resolution": resolution.envelope.seq},
            )
        ],
    )  # fmt: skip
    [figure] = ledger.append(
        treasurer,
        [Draft("MetricSubmitted", {"year": 2025, "name": "members", "value": "312", "unit": "n"})],
    )
    [resigned] = ledger.append(
        treasurer,
        [
            Draft(
                "ShareholderResigned",
                {"member_number": "B-77", "member_name": "Marie Peeters", "shares": 2,
                 "nominal_value": "50", "amount_paid_in": "50", "amount_repaid": "50",
                 "repaid_on": "2025-09-30"},
            )
        ],
    )  # fmt: skip
    seqs = {
        "assembly": assembly.envelope.seq,
        "resolution": resolution.envelope.seq,
        "meeting": m,
        "review": review.envelope.seq,
        "profit": profit.envelope.seq,
        "figure": figure.envelope.seq,
        "resigned": resigned.envelope.seq,
    }
    found = Coop(db, ledger, founder, board, treasurer, council, seqs)
    assert found.failures() == []
    yield found
    ledger.close()


# --- the attacks: each forges events with the cooperative's own keys -------------------------


def _correct_review_without_board(c: Coop) -> int:
    replacement = {"meeting": c.seqs["meeting"], "year": 2025, "condition": "SE4",
                   "finding": "breach", "note": "x"}  # fmt: skip
    return c.forge(
        c.treasurer,
        "EventCorrected",
        {"event": c.seqs["review"], "reason": "r", "replacement": replacement},
    )


def _retract_review_without_board(c: Coop) -> int:
    return c.forge(c.founder, "EventRetracted", {"event": c.seqs["review"], "reason": "r"})


def _correct_a_signer_enrolment(c: Coop) -> int:
    board = c.board.public
    replacement = {"key_id": board.key_id, "public_key": board.b64, "name": "x", "roles": ["admin"]}
    return c.forge(
        c.founder, "EventCorrected", {"event": 2, "reason": "r", "replacement": replacement}
    )


def _correct_a_retracted_event(c: Coop) -> int:
    c.forge(c.treasurer, "EventRetracted", {"event": c.seqs["figure"], "reason": "duplicate"})
    replacement = {"year": 2025, "name": "members", "value": "999", "unit": "n"}
    return c.forge(
        c.treasurer,
        "EventCorrected",
        {"event": c.seqs["figure"], "reason": "r", "replacement": replacement},
    )


def _correct_with_an_invalid_replacement(c: Coop) -> int:
    replacement = {"year": 2025, "name": "members", "value": "lots", "unit": "n"}
    return c.forge(
        c.treasurer,
        "EventCorrected",
        {"event": c.seqs["figure"], "reason": "r", "replacement": replacement},
    )


def _allocation(c: Coop, **changes: str) -> int:
    """A profit allocation by the treasurer, its fields as ``changes`` say."""
    payload = {"year": 2025, "result": "1", "reserved_for_purpose": "0", "total_dividend": "0",
               "dividend_rate": "0", "nominal_capital": "1"}  # fmt: skip
    return c.forge(c.treasurer, "ProfitAllocated", payload | changes)


def _resolution(c: Coop, **counts: int) -> int:
    """A second resolution of the assembly, by the secretary, with these counts."""
    payload = {"assembly": c.seqs["assembly"], "number": 2, "subject": "Budget",
               "category": "other", "votes_for": 0, "votes_against": 0, "votes_abstaining": 0,
               "max_votes_single_shareholder": 10, "majority_required": "simple",
               "adopted": True}  # fmt: skip
    return c.forge(c.founder, "ResolutionVoted", payload | counts)


def _result_that_is_not_a_number(c: Coop) -> int:
    return _allocation(c, result="abc")


def _dividend_rate_infinity(c: Coop) -> int:
    return _allocation(c, dividend_rate="Infinity")


def _votes_above_those_represented(c: Coop) -> int:
    return _resolution(c, votes_for=290, votes_against=20)


def _outcome_against_the_counts(c: Coop) -> int:
    return _resolution(c, votes_for=10, votes_against=200)


def _bidi_override_in_a_unit(c: Coop) -> int:
    return c.forge(
        c.treasurer,
        "MetricSubmitted",
        {"year": 2025, "name": "turnover", "value": "1", "unit": "EUR\u202e0001"},
    )


def _reference_of_the_wrong_type(c: Coop) -> int:
    return c.forge(
        c.board,
        "BoardReviewRecorded",
        {"meeting": c.seqs["figure"], "year": 2025, "condition": "SE1", "finding": "compliant",
         "note": "x"},
    )  # fmt: skip


def _reference_forward(c: Coop) -> int:
    head = c.ledger.size()
    return c.forge(
        c.board,
        "BoardReviewRecorded",
        {"meeting": head + 5, "year": 2025, "condition": "SE1", "finding": "compliant",
         "note": "x"},
    )  # fmt: skip


def _review_of_a_condition_the_rules_do_not_have(c: Coop) -> int:
    return c.forge(
        c.board,
        "BoardReviewRecorded",
        {"meeting": c.seqs["meeting"], "year": 2025, "condition": "SE10", "finding": "compliant",
         "note": "x"},
    )  # fmt: skip


def _article_providing_for_a_condition_not_judged_by_articles(c: Coop) -> int:
    return c.forge(
        c.founder,
        "StatuteArticleAdopted",
        {"number": "44", "text_fr": "x", "deed": "statuts", "provides": ["SE9"]},
        schema=2,
    )


def _amendment(c: Coop, adopted: bool) -> int:
    """A statute amendment voted at BioFerme's assembly: carried, or rejected."""
    votes_for, votes_against = (250, 20) if adopted else (50, 200)
    return c.forge(
        c.founder,
        "ResolutionVoted",
        {"assembly": c.seqs["assembly"], "number": 2, "subject": "Modification de l'article 44",
         "category": "statute_amendment", "votes_for": votes_for, "votes_against": votes_against,
         "votes_abstaining": 0, "max_votes_single_shareholder": 12,
         "majority_required": "three_quarters", "adopted": adopted},
        effective="2025-06-12",
    )  # fmt: skip


def _rejected_resolution(c: Coop) -> int:
    return _amendment(c, adopted=False)


def _article_adopted_by_the_profit_allocation(c: Coop) -> int:
    return c.forge(
        c.founder,
        "StatuteArticleAdopted",
        {"number": "44", "text_fr": "x", "resolution": c.seqs["resolution"]},
        schema=2,
        effective="2025-06-12",
    )


def _article_adopted_by_a_rejected_resolution(c: Coop) -> int:
    rejected = _rejected_resolution(c)
    return c.forge(
        c.founder,
        "StatuteArticleAdopted",
        {"number": "44", "text_fr": "x", "resolution": rejected, "provides": ["SE4"]},
        schema=2,
        effective="2025-06-12",
    )


def _amendment_voted(c: Coop, votes_for: int, votes_against: int, majority: str) -> int:
    """A statute amendment carried by these counts under the majority the secretary typed."""
    return c.forge(
        c.founder,
        "ResolutionVoted",
        {"assembly": c.seqs["assembly"], "number": 2, "subject": "Modification des statuts",
         "category": "statute_amendment", "votes_for": votes_for,
         "votes_against": votes_against, "votes_abstaining": 0,
         "max_votes_single_shareholder": 12, "majority_required": majority, "adopted": True},
        effective="2025-06-12",
    )  # fmt: skip


def _article_adopted_by_a_simple_majority(c: Coop) -> int:
    vote = _amendment_voted(c, 200, 90, "simple")  # 69 % of the votes cast
    return c.forge(
        c.founder,
        "StatuteArticleAdopted",
        {"number": "44", "text_fr": "x", "resolution": vote, "provides": ["SE4"]},
        schema=3,
        effective="2025-06-12",
    )


def _object_amended_by_three_quarters(c: Coop) -> int:
    vote = _amendment_voted(c, 230, 60, "three_quarters")  # 79 %: not four fifths
    return c.forge(
        c.founder,
        "StatuteArticleAdopted",
        {"number": "3", "text_fr": "x", "resolution": vote, "provides": ["SE2"]},
        schema=3,
        effective="2025-06-12",
    )


def _resolution_recounted_under_its_article(c: Coop) -> int:
    vote = _amendment_voted(c, 250, 20, "three_quarters")
    c.forge(
        c.founder,
        "StatuteArticleAdopted",
        {"number": "44", "text_fr": "x", "resolution": vote, "provides": ["SE4"]},
        schema=3,
        effective="2025-06-12",
    )
    replacement = {
        "assembly": c.seqs["assembly"], "number": 2, "subject": "Modification des statuts",
        "category": "statute_amendment", "votes_for": 180, "votes_against": 90,
        "votes_abstaining": 0, "max_votes_single_shareholder": 12,
        "majority_required": "simple", "adopted": True,
    }  # fmt: skip
    return c.forge(
        c.founder,
        "EventCorrected",
        {"event": vote, "reason": "recount", "replacement": replacement},
    )


def _admit(c: Coop, member: str, shares: int) -> int:
    value = str(25 * shares)
    return c.forge(
        c.treasurer,
        "MemberAdmitted",
        {"member_number": member, "admitted_on": "2025-02-01", "shares": shares,
         "nominal_value": value, "amount_paid_in": value},
        effective="2025-02-01",
    )  # fmt: skip


def _transfer_of_shares_not_held(c: Coop) -> int:
    _admit(c, "B-1", 5)
    _admit(c, "B-2", 1)
    return c.forge(
        c.treasurer,
        "SharesTransferred",
        {"from_member": "B-1", "to_member": "B-2", "transferred_on": "2025-03-01", "shares": 6,
         "nominal_value": "150", "amount_paid_in": "150"},
        effective="2025-03-01",
    )  # fmt: skip


def _shares_subscribed_outside_the_register(c: Coop) -> int:
    return c.forge(
        c.treasurer,
        "SharesSubscribed",
        {"member_number": "B-9", "subscribed_on": "2025-03-01", "shares": 2,
         "nominal_value": "50", "amount_paid_in": "50"},
        effective="2025-03-01",
    )  # fmt: skip


def _member_admitted_twice(c: Coop) -> int:
    _admit(c, "B-1", 5)
    return _admit(c, "B-1", 5)


def _resignation_above_the_holding(c: Coop) -> int:
    _admit(c, "B-1", 2)
    return c.forge(
        c.treasurer,
        "ShareholderResigned",
        {"member_number": "B-1", "shares": 3, "nominal_value": "75", "amount_paid_in": "75",
         "amount_repaid": "75", "repaid_on": "2025-09-30"},
        schema=2,
        effective="2025-09-30",
    )  # fmt: skip


def _legal_form_changed_by_a_rejected_resolution(c: Coop) -> int:
    rejected = _rejected_resolution(c)
    return c.forge(
        c.founder,
        "LegalFormChanged",
        {"from": "scrl_fs", "to": "sces_agreee", "resolution": rejected},
        effective="2025-06-12",
    )


def _provisions_of_a_figure(c: Coop) -> int:
    return c.forge(
        c.founder,
        "StatuteArticleProvisionsRecorded",
        {"adoption": c.seqs["figure"], "provides": ["SE4"]},
    )


def _redact_a_field_that_is_not_personal(c: Coop) -> int:
    return c.forge(
        c.founder,
        "PersonalDataRedacted",
        {"event": c.seqs["resigned"], "field": "member_number", "reason": "asked"},
    )


def _redact_twice(c: Coop) -> int:
    payload = {"event": c.seqs["resigned"], "field": "member_name", "reason": "asked"}
    c.forge(c.founder, "PersonalDataRedacted", payload)
    return c.forge(c.founder, "PersonalDataRedacted", payload)


def _blank_reason(c: Coop) -> int:
    return c.forge(c.treasurer, "EventRetracted", {"event": c.seqs["figure"], "reason": "   "})


def _signer_enrolled_without_a_name(c: Coop) -> int:
    other = keys.generate("X").public
    return c.forge(
        c.founder,
        "SignerEnrolled",
        {"key_id": other.key_id, "public_key": other.b64, "roles": ["secretary"]},
    )


def _checkpoint_signed_by_a_revoked_key(c: Coop) -> int:
    extra = keys.generate("Ancien secrétaire")
    c.ledger.append(c.founder, [_enrol(extra, "secretary")])
    size = c.ledger.size()
    signed = checkpoint.sign(c.ledger.origin(), size, c.ledger.tree().root(size), extra)
    c.ledger.append(
        c.founder, [Draft("SignerRevoked", {"key_id": extra.public.key_id, "reason": "left"})]
    )
    note_text = signed.to_bytes().decode()
    return c.forge(
        c.founder,
        "CheckpointRecorded",
        {"size": size, "root": c.ledger.tree().root(size).hex(), "note": note_text},
    )


def _checkpoint_cosigned_in_the_future(c: Coop) -> int:
    c.ledger.append(c.founder, [_enrol(c.council, "council")])
    size = c.ledger.size()
    signed = checkpoint.sign(c.ledger.origin(), size, c.ledger.tree().root(size), c.founder)
    later = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp()) + 30 * 86400
    cosigned = checkpoint.cosign(signed, c.council, later).to_bytes().decode()
    return c.forge(
        c.founder,
        "CheckpointRecorded",
        {"size": size, "root": c.ledger.tree().root(size).hex(), "note": cosigned},
    )


ATTACKS: dict[str, tuple[Callable[[Coop], int], str]] = {
    "a correction of a board review by the treasurer": (
        _correct_review_without_board,
        "role-not-allowed",
    ),
    "a retraction of a board review by the secretary": (
        _retract_review_without_board,
        "role-not-allowed",
    ),
    "a correction of a SignerEnrolled": (_correct_a_signer_enrolment, "bad-correction"),
    "a correction of a retracted event": (_correct_a_retracted_event, "bad-correction"),
    "a correction whose replacement breaks the schema": (
        _correct_with_an_invalid_replacement,
        "bad-correction",
    ),
    'a result of "abc"': (_result_that_is_not_a_number, "bad-payload"),
    'a dividend rate of "Infinity"': (_dividend_rate_infinity, "bad-payload"),
    "more votes cast than represented": (_votes_above_those_represented, "bad-payload"),
    "an outcome the counts do not carry": (_outcome_against_the_counts, "bad-payload"),
    "a bidirectional override in a unit": (_bidi_override_in_a_unit, "bad-payload"),
    "a review of a condition the rules do not have": (
        _review_of_a_condition_the_rules_do_not_have,
        "bad-payload",
    ),
    "a meeting that is a figure": (_reference_of_the_wrong_type, "bad-reference"),
    "an article providing for a condition not judged by articles": (
        _article_providing_for_a_condition_not_judged_by_articles,
        "bad-payload",
    ),
    "the provisions of a figure": (_provisions_of_a_figure, "bad-reference"),
    "an article adopted by a rejected resolution": (
        _article_adopted_by_a_rejected_resolution,
        "bad-reference",
    ),
    "an article adopted by the profit allocation's resolution": (
        _article_adopted_by_the_profit_allocation,
        "bad-reference",
    ),
    "an article adopted by a simple majority": (
        _article_adopted_by_a_simple_majority,
        "bad-reference",
    ),
    "the object amended by three quarters": (_object_amended_by_three_quarters, "bad-reference"),
    "a resolution recounted below the majority of its article": (
        _resolution_recounted_under_its_article,
        "bad-payload",
    ),
    "a transfer of shares the member does not hold": (_transfer_of_shares_not_held, "bad-payload"),
    "shares subscribed outside the register": (
        _shares_subscribed_outside_the_register,
        "bad-payload",
    ),
    "a member admitted twice": (_member_admitted_twice, "bad-payload"),
    "a resignation of more shares than held": (_resignation_above_the_holding, "bad-payload"),
    "a legal form changed by a rejected resolution": (
        _legal_form_changed_by_a_rejected_resolution,
        "bad-reference",
    ),
    "a reference to a later event": (_reference_forward, "bad-reference"),
    "a redaction of a field that is not personal": (
        _redact_a_field_that_is_not_personal,
        "bad-redaction",
    ),
    "a redaction made twice": (_redact_twice, "bad-redaction"),
    "a blank reason": (_blank_reason, "bad-payload"),
    "an enrolment without a name": (_signer_enrolled_without_a_name, "bad-payload"),
    "a checkpoint signed by a revoked key": (_checkpoint_signed_by_a_revoked_key, "bad-checkpoint"),
    "a cosignature from the future": (_checkpoint_cosigned_in_the_future, "bad-checkpoint"),
}


@pytest.mark.parametrize("name", list(ATTACKS))
def test_verify_audit_and_import_name_the_forged_event(coop: Coop, name: str) -> None:
    attack, reason = ATTACKS[name]
    seq = attack(coop)
    assert coop.failures()[:1] == [(seq, reason)]
    # One worker and several agree (the multi-core fold takes whole pages its own way).
    assert coop.failures(workers=2)[:1] == [(seq, reason)]
    assert coop.audited()[:1] == [(seq, reason)]
    bundle = coop.bundle()
    elsewhere = coop.db.sibling("council")
    with pytest.raises(IntegrityError) as refused:
        transparency.import_bundle(elsewhere.location, bundle)
    assert (refused.value.seq, refused.value.reason) == (seq, reason)


PROJECTED = [
    "a correction of a board review by the treasurer",
    "a retraction of a board review by the secretary",
    "a correction of a retracted event",
    'a result of "abc"',
    'a dividend rate of "Infinity"',
    "more votes cast than represented",
]


@pytest.mark.parametrize("name", PROJECTED)
def test_compliance_and_report_refuse_what_the_rules_refuse(coop: Coop, name: str) -> None:
    attack, reason = ATTACKS[name]
    seq = attack(coop)
    with pytest.raises(IntegrityError) as compliance:
        projected.compliance(coop.ledger, 2025)
    assert (compliance.value.seq, compliance.value.reason) == (seq, reason)
    with pytest.raises(IntegrityError) as report:
        documents.produce(coop.ledger, 2025)
    assert (report.value.seq, report.value.reason) == (seq, reason)


def test_the_cli_exits_1_naming_the_event(coop: Coop) -> None:
    seq = _correct_review_without_board(coop)
    env = coop.db.env if coop.db.backend == "postgres" else {}
    where = ["--ledger", coop.db.location]
    for args in (["verify"], ["compliance", "--year", "2025"], ["report", "--year", "2025"]):
        done = run_here(*where, *args, cwd=coop.db.folder, env=env)
        assert done.code == 1, (args, done)
        message = done.err + done.out
        assert f"event {seq}: role-not-allowed" in message, (args, done)


# --- checkpoints: a cosignature means "verified" ---------------------------------------------


def _tamper_and_rebuild(c: Coop) -> None:
    """Edit event 7's payload in the store (the cooperative can), then rebuild every tree node
    from the edited entries, as a careful attacker would."""
    seq = c.seqs["profit"]
    [row] = c.ledger.store.rows(c.ledger.id, [seq])
    edited = row.entry.replace(b'"dividend_rate":"2"', b'"dividend_rate":"9"')
    assert edited != row.entry
    entries = [r.entry if r.seq != seq else edited for r in c.ledger.store.read(c.ledger.id)]
    tree = merkle.CompactRange()
    nodes = [n for e in entries for n in tree.append(merkle.leaf_hash(e))]
    c.db.tamper(
        ("UPDATE stored_events SET state = ? WHERE originator_version = ?", (edited, seq)),
        ("DELETE FROM merkle_nodes", ()),
    )
    c.db.execute(
        *(
            ("INSERT INTO merkle_nodes VALUES (?,?,?,?)", (c.ledger.id.hex, lvl, idx, h))
            for lvl, idx, h in nodes
        )
    )


def test_the_council_does_not_cosign_a_tampered_ledger(coop: Coop) -> None:
    _tamper_and_rebuild(coop)
    size = coop.ledger.size()
    signed = transparency.sign_checkpoint(coop.ledger, coop.founder)
    assert coop.ledger.tree().root(size).hex() in signed.decode() or True  # the stored tree agrees
    with pytest.raises(IntegrityError) as refused:
        transparency.cosign_checkpoint(coop.ledger, signed, coop.council, datetime.now(UTC))
    assert (refused.value.seq, refused.value.reason) == (coop.seqs["profit"], "bad-signature")


def test_cosign_compares_with_the_rebuilt_tree_not_the_stored_nodes(coop: Coop) -> None:
    size = coop.ledger.size()
    wrong = checkpoint.sign(coop.ledger.origin(), size, b"\x07" * 32, coop.founder).to_bytes()
    # The stored node of the root's right subtree says what the checkpoint says...
    coop.db.tamper(("DELETE FROM merkle_nodes", ()))
    with pytest.raises(IntegrityError) as refused:
        transparency.cosign_checkpoint(coop.ledger, wrong, coop.council, datetime.now(UTC))
    # ... yet the ledger, whose nodes are gone, is refused first: its store does not verify.
    assert refused.value.reason == "stored-tree-mismatch"


def test_cosign_refuses_a_root_that_is_not_the_verified_one(coop: Coop) -> None:
    size = coop.ledger.size()
    wrong = checkpoint.sign(coop.ledger.origin(), size, b"\x07" * 32, coop.founder).to_bytes()
    with pytest.raises(IntegrityError) as refused:
        transparency.cosign_checkpoint(coop.ledger, wrong, coop.council, datetime.now(UTC))
    assert (refused.value.seq, refused.value.reason) == (size, "checkpoint-mismatch")


def test_cosign_record_and_verify_refuse_a_checkpoint_of_a_revoked_key(coop: Coop) -> None:
    extra = keys.generate("Ancien secrétaire")
    coop.ledger.append(coop.founder, [_enrol(extra, "secretary")])
    signed = transparency.sign_checkpoint(coop.ledger, extra)
    coop.ledger.append(
        coop.founder, [Draft("SignerRevoked", {"key_id": extra.public.key_id, "reason": "left"})]
    )
    with pytest.raises(InputError, match="no-known-signature"):
        transparency.cosign_checkpoint(coop.ledger, signed, coop.council, datetime.now(UTC))
    with pytest.raises(InputError, match="no-known-signature"):
        transparency.record_checkpoint(coop.ledger, signed, coop.founder)
    trusted = TrustedCheckpoint(signed)
    assert coop.failures(trusted=trusted) == []  # trusted: the auditor's own choice, at its size
    assert coop.ledger.size() == coop.seqs["resigned"] + 2  # nothing was recorded


def test_a_future_cosignature_is_refused_by_record_and_audit(coop: Coop) -> None:
    signed = transparency.sign_checkpoint(coop.ledger, coop.founder)
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    cosigned = checkpoint.cosign(
        checkpoint.note.parse_note(signed), coop.council, int(tomorrow.timestamp())
    ).to_bytes()
    coop.ledger.append(coop.founder, [_enrol(coop.council, "council")])
    with pytest.raises(InputError, match="future-timestamp"):
        transparency.record_checkpoint(coop.ledger, cosigned, coop.founder)
    assert coop.audited(trusted=cosigned) == [(1, "untrusted-checkpoint")]
    # Within the skew, both take it.
    soon = datetime.now(UTC) + timedelta(seconds=checkpoint.COSIGNATURE_SKEW_SECONDS // 2)
    fine = checkpoint.cosign(
        checkpoint.note.parse_note(signed), coop.council, int(soon.timestamp())
    ).to_bytes()
    assert coop.audited(trusted=fine) == []


def test_verify_trusted_reads_the_type_from_the_signed_bytes(coop: Coop) -> None:
    size = coop.ledger.size()
    trusted = TrustedCheckpoint(transparency.sign_checkpoint(coop.ledger, coop.founder))
    coop.ledger.append(
        coop.treasurer,
        [Draft("MetricSubmitted", {"year": 2025, "name": "hectares", "value": "40", "unit": "ha"})],
    )
    # Inside the trusted prefix: a figure's type column said to be a signer event, and the
    # board's enrolment's said to be a figure (so that it would be only hashed).
    coop.db.tamper(
        (
            "UPDATE stored_events SET topic = 'SignerEnrolled' WHERE originator_version = ?",
            (coop.seqs["figure"],),
        ),
        ("UPDATE stored_events SET topic = 'MetricSubmitted' WHERE originator_version = 2", ()),
    )
    assert coop.failures(trusted=trusted) == [
        (2, "topic-mismatch"),
        (coop.seqs["figure"], "topic-mismatch"),
    ]
    assert size < coop.ledger.size()


# --- late entries --------------------------------------------------------------------------


def _cosigned(c: Coop) -> bytes:
    signed = transparency.sign_checkpoint(c.ledger, c.founder)
    return checkpoint.cosign(checkpoint.note.parse_note(signed), c.council, COUNCIL_TIME).to_bytes()


def test_a_trusted_checkpoint_finds_late_entries_without_checkpoint_record(coop: Coop) -> None:
    cp = _cosigned(coop)
    closed = CLOSED
    size = coop.ledger.size()
    [late] = coop.ledger.append(
        coop.treasurer,
        [Draft("MetricSubmitted", {"year": closed, "name": "late", "value": "1", "unit": "n"})],
    )
    coop.ledger.append(
        coop.treasurer,
        [Draft("MetricSubmitted", {"year": closed + 1, "name": "now", "value": "2", "unit": "n"})],
    )
    audited = transparency.audit(coop.bundle(), [coop.council.public], cp)
    found = [(e.seq, e.checkpoint_size, e.covered_until) for e in audited.result.late_entries]
    assert audited.result.ok and found == [(late.envelope.seq, size, closed)]
    # The state the audit saves keeps what the checkpoint closed: the next audit, from it,
    # still sees a later backdated figure.
    assert audited.state is not None
    [again] = coop.ledger.append(
        coop.treasurer,
        [Draft("MetricSubmitted", {"year": closed, "name": "again", "value": "3", "unit": "n"})],
    )
    resumed = transparency.audit(coop.bundle(), [coop.council.public], state=audited.state)
    assert resumed.skipped == audited.state.resume.size
    seqs = [e.seq for e in resumed.result.late_entries]
    assert seqs == [late.envelope.seq, again.envelope.seq]


def test_only_cosignatures_by_trusted_keys_close_a_year(coop: Coop) -> None:
    # The cooperative enrols a "council" key of its own and cosigns with it, early: were it
    # counted, it would say the checkpoint closed an earlier year, hiding the late figure.
    own = keys.generate("Conseil national")
    coop.ledger.append(coop.founder, [_enrol(own, "council")])
    signed = checkpoint.note.parse_note(transparency.sign_checkpoint(coop.ledger, coop.founder))
    early = int(datetime(2021, 1, 1, tzinfo=UTC).timestamp())
    both = checkpoint.cosign(checkpoint.cosign(signed, own, early), coop.council, COUNCIL_TIME)
    size = coop.ledger.size()
    transparency.record_checkpoint(coop.ledger, both.to_bytes(), coop.founder)
    closed = CLOSED
    [late] = coop.ledger.append(
        coop.treasurer,
        [Draft("MetricSubmitted", {"year": closed, "name": "late", "value": "1", "unit": "n"})],
    )
    result = transparency.audit_bundle(coop.bundle(), [coop.council.public])
    assert [(e.seq, e.checkpoint_size, e.covered_until) for e in result.late_entries] == [
        (late.envelope.seq, size, closed)
    ]
    # Trusting only the cooperative's own key finds nothing late after 2020.
    mine = transparency.audit_bundle(coop.bundle(), [own.public])
    assert all(e.covered_until == 2020 for e in mine.late_entries)


def test_compliance_marks_late_evidence(coop: Coop) -> None:
    coop.ledger.append(coop.founder, [_enrol(coop.council, "council")])
    transparency.record_checkpoint(coop.ledger, _cosigned(coop), coop.founder)
    closed = CLOSED
    [allocation] = coop.ledger.append(
        coop.treasurer,
        [
            Draft(
                "ProfitAllocated",
                {"year": closed, "result": "100", "reserved_for_purpose": "10",
                 "total_dividend": "5", "dividend_rate": "1", "nominal_capital": "25000",
                 "resolution": coop.seqs["resolution"]},
            )
        ],
    )  # fmt: skip
    answer, _ = projected.compliance(coop.ledger, closed)
    late = {e.seq: e for e in answer.late_entries}
    assert allocation.envelope.seq in late
    assert late[allocation.envelope.seq].covered_until == closed
    marked = [c for c in answer.conditions if allocation.envelope.seq in c.late]
    assert marked, "the conditions it evidences carry the mark"
    [figure] = coop.ledger.append(
        coop.treasurer,
        [Draft("MetricSubmitted", {"year": closed, "name": "late", "value": "7", "unit": "n"})],
    )
    text = documents.produce(coop.ledger, closed, "en").data.decode()
    assert "## Late entries" in text
    assert f"(event {figure.envelope.seq}) (recorded late)" in text
    assert f"- Event {allocation.envelope.seq} (ProfitAllocated" in text


def test_a_report_recorded_after_the_councils_cosignature_is_late_whatever_its_date(
    coop: Coop,
) -> None:
    """BioFerme records its 2024 special report, dated at a meeting of May 2025, after the
    Council cosigned its tree on 1 March 2026: the cosignature proves the ledger did not hold it
    within the delay (30 June 2025); compliance and the report say so."""
    coop.ledger.append(coop.founder, [_enrol(coop.council, "council")])
    seen = transparency.record_checkpoint(coop.ledger, _cosigned(coop), coop.founder)
    size = seen.envelope.seq - 1
    [meeting] = coop.ledger.append(
        coop.board, [Draft("BoardMeetingHeld", {"date": "2025-05-20", "directors_present": 5})]
    )
    root = coop.ledger.tree().root(size).hex()
    [report] = coop.ledger.append(
        coop.board,
        [Draft("SpecialReportAdopted", {"year": 2024, "meeting": meeting.envelope.seq,
               "document_sha256": "0" * 64, "checkpoint": {"size": size, "root": root}})],
    )  # fmt: skip
    answer, _ = projected.compliance(coop.ledger, 2024)
    [se9] = [c for c in answer.conditions if c.id == "SE9"]
    assert [(f.seq, f.message) for f in se9.findings] == [
        (report.envelope.seq, "special report on 2024 dated 2025-05-20, but recorded after "
         f"checkpoint {size}, which the Council cosigned on 2026-03-01, after the legal delay "
         "(2025-06-30)"),
    ]  # fmt: skip
    assert se9.status == "breached"
    text = documents.produce(coop.ledger, 2024, "en").data.decode()
    assert "which the Council cosigned on 2026-03-01" in text


# --- the input a writer refuses --------------------------------------------------------------


@pytest.fixture
def book(coop: Coop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """The CLI in this process on BioFerme's store, its keys as files."""
    from ledger.cli import main

    paths = {}
    for name in ("founder", "board", "treasurer"):
        path = tmp_path / f"{name}.key"
        keyfiles.write_key_files(getattr(coop, name), path, None)
        paths[f"@{name}"] = str(path)
    monkeypatch.chdir(tmp_path)
    for name in ("LEDGER_URL", "LEDGER_ID", "LEDGER_PASSPHRASE"):
        monkeypatch.delenv(name, raising=False)

    def cli(*args: str, capsys: pytest.CaptureFixture[str] | None = None) -> Result:
        import contextlib
        import io

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["--ledger", coop.db.location, *[paths.get(a, a) for a in args]])
        return Result(code, out.getvalue(), err.getvalue())

    return cli


REFUSED = [
    (
        ("record", "resolution", "--assembly", "ASSEMBLY", "--number", "2", "--subject", "s",
         "--category", "other", "--for", "290", "--against", "20", "--abstaining", "0",
         "--max-single", "1", "--majority", "simple", "--adopted", "--key", "@founder"),
        "error: --for: 310 votes cast (290 for, 20 against, 0 abstaining), more than the 300 "
        "votes represented at the assembly (event ASSEMBLY)",
    ),
    (
        ("record", "board-meeting", "--date", "2026-01-10", "--directors-present", "7",
         "--directors-in-office", "5", "--key", "@board"),
        "error: --directors-present: 7 directors present, more than the 5 in office",
    ),
    (
        ("record", "metric", "--year", "2025", "--name", "n", "--value", "1", "--unit",
         "EUR\x00", "--key", "@treasurer"),
        "error: --unit: 'EUR\\x00' holds the character U+0000 at 3: a one-line field takes no "
        "control or bidirectional-override characters",
    ),
    (
        ("record", "assembly", "--kind", "ordinary", "--date", "2026-01-10", "--place",
         "Namur\u2066x", "--present", "1", "--represented", "0", "--votes-represented", "1",
         "--key", "@founder"),
        "error: --place: 'Namur\\u2066x' holds the character U+2066 at 5: a one-line field takes "
        "no control or bidirectional-override characters",
    ),
    (
        ("signer", "add", "--pub", "PUB", "--name", "Eve\x85", "--role", "board", "--key",
         "@founder"),
        "error: --name: 'Eve\\x85' holds the character U+0085 at 3: a one-line field takes no "
        "control or bidirectional-override characters",
    ),
    (
        ("retract", "FIGURE", "--reason", " \t", "--key", "@treasurer"),
        "error: --reason: ' \\t' is blank; give a reason for the record",
    ),
    (
        ("correct", "FIGURE", "--reason", "  ", "--set", "value=1", "--key", "@treasurer"),
        "error: --reason: '  ' is blank; give a reason for the record",
    ),
    (
        ("signer", "revoke", "BOARD", "--reason", " ", "--key", "@founder"),
        "error: --reason: ' ' is blank; give a reason for the record",
    ),
    (
        ("redact", "RESIGNED", "--field", "member_name", "--reason", "\n", "--key", "@founder"),
        "error: --reason: '\\n' is blank; give a reason for the record",
    ),
]  # fmt: skip


@pytest.mark.parametrize("args,message", REFUSED, ids=lambda v: str(v)[:40])
def test_input_refused_writes_nothing(
    coop: Coop, book: Callable[..., Result], tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    pub = tmp_path / "eve.key"
    keyfiles.write_key_files(keys.generate("Eve"), pub, None)
    names = {
        "ASSEMBLY": str(coop.seqs["assembly"]),
        "FIGURE": str(coop.seqs["figure"]),
        "RESIGNED": str(coop.seqs["resigned"]),
        "BOARD": coop.board.public.key_id,
        "PUB": f"{pub}.pub",
    }
    before = coop.db.rows()
    done = book(*[names.get(a, a) for a in args])
    expected = message.replace("ASSEMBLY", names["ASSEMBLY"])
    assert (done.code, done.err.strip()) == (2, expected)
    assert coop.db.rows() == before


MINUTES = """
[assembly]
kind = "extraordinary"
date = "2025-11-20"
place = "Gembloux"
shareholders_present = 61
shareholders_represented = 9
votes_represented = 70

[[resolution]]
number = 1
subject = "Modification de l'article 3 (objet)"
category = "statute_amendment"
votes_for = 54
votes_against = 16
votes_abstaining = 0
max_votes_single_shareholder = 1
majority_required = "three_quarters"
adopted = true

  [[resolution.article]]
  number = "3"
  text_fr = "La coopérative a pour objet une agriculture biologique et locale."
  provides = ["se2"]
"""


def test_minutes_that_change_the_object_by_three_quarters_are_refused(
    coop: Coop, book: Callable[..., Result], tmp_path: Path
) -> None:
    """54 of 70 (77 %) carry a statute amendment, not a change of the object: the whole
    minutes file is refused (exit 2), naming its table and the majority the law requires."""
    minutes = tmp_path / "age-2025.toml"
    minutes.write_text(MINUTES, encoding="utf-8")
    before = coop.db.rows()
    done = book("record", "minutes", str(minutes), "--key", "@founder")
    assert done.code == 2, done.err
    assert "age-2025.toml [[resolution]] #1 article #1 resolution: " in done.err
    assert "54 for, 16 against and 0 abstaining do not reach the four fifths majority" in done.err
    assert "the law for the object or purpose (CSA art. 6:86)" in done.err
    assert coop.db.rows() == before
    minutes.write_text(MINUTES.replace('"se2"', '"SE4"').replace('"3"', '"14"'), encoding="utf-8")
    done = book("record", "minutes", str(minutes), "--key", "@founder")
    assert done.code == 0, done.err


@pytest.mark.parametrize("typed", ["SE10", "C3"])
def test_a_board_review_names_a_condition_of_the_rules(coop: Coop, typed: str) -> None:
    """The writer refuses a condition the rules do not have (the pattern lets SE10 and C3
    through), naming those it has; nothing is written."""
    before = coop.db.rows()
    payload = {"meeting": coop.seqs["meeting"], "year": 2025, "condition": typed,
               "finding": "compliant", "note": "x"}  # fmt: skip
    with pytest.raises(InputError) as refused:
        coop.ledger.append(coop.board, [Draft("BoardReviewRecorded", payload)])
    assert refused.value.field == "condition"
    assert refused.value.message.startswith(f"{typed!r} is not a condition of the rules")
    assert "SE1, SE2" in refused.value.message
    assert coop.db.rows() == before


def test_the_board_review_form_takes_a_condition_in_any_case() -> None:
    form = forms.BY_COMMAND["board-review"]
    assert forms.coerce(form, "condition", " se4 ") == "SE4"
    assert semantics.condition_problem("se4") == (
        "'se4' is not a condition of the rules; write SE4 (expected one of "
        + ", ".join(conditions.ids())
        + ")"
    )


def test_a_rejected_resolution_carries_nothing_and_what_it_carries_keeps_it_adopted(
    coop: Coop,
) -> None:
    """The writer's side of the rule: an article adopted by a rejected resolution is refused;
    a resolution an article rests on cannot be corrected into a rejection."""
    rejected = _rejected_resolution(coop)
    before = coop.db.rows()
    article = {"number": "44", "text_fr": "x", "resolution": rejected, "provides": ["SE4"]}
    with pytest.raises(InputError) as refused:
        coop.ledger.append(coop.founder, [Draft("StatuteArticleAdopted", article)])
    assert refused.value.field == "resolution"
    assert "it was rejected, and a rejected resolution carries no article adopted" in str(
        refused.value
    )
    assert coop.db.rows() == before
    adopted = _amendment(coop, adopted=True)
    [entry] = coop.ledger.append(
        coop.founder, [Draft("StatuteArticleAdopted", {**article, "resolution": adopted})]
    )
    flipped = ["votes_for=20", "votes_against=250", "adopted=false"]
    before = coop.db.rows()
    with pytest.raises(InputError) as refused:
        commands.correct(coop.ledger, coop.founder, adopted, "recount", flipped)
    assert f"event {entry.envelope.seq} (StatuteArticleAdopted) rests on this resolution" in str(
        refused.value
    )
    assert coop.db.rows() == before


def _adopt(coop: Coop, number: str, vote: int | None, **more: Any) -> list[Any]:
    article: dict[str, Any] = {"number": number, "text_fr": "Texte."} | more
    if vote is None:
        article["deed"] = "statuts coordonnés du 2 mai 2019"
    else:
        article["resolution"] = vote
    effective = "2019-05-02" if vote is None else None
    draft = Draft("StatuteArticleAdopted", article, effective)
    return coop.ledger.append(coop.founder, [draft])


def test_an_amendment_needs_the_majority_the_law_requires(coop: Coop) -> None:
    """The majority comes from what the resolution does, not from what the secretary typed: a
    statute amendment carried by a typed "simple" majority of 69 % adopts no article; the
    object needs four fifths; an article that needs less is taken."""
    simple = _amendment_voted(coop, 200, 90, "simple")
    before = coop.db.rows()
    with pytest.raises(InputError) as refused:
        _adopt(coop, "44", simple, provides=["SE4"])
    assert refused.value.field == "resolution"
    assert str(refused.value).endswith(
        f"resolution event {simple}: 200 for, 90 against and 0 abstaining do not reach the "
        "three quarters majority of the votes cast that the law for a statute amendment "
        "(CSA art. 6:85) requires to adopt article 44"
    )
    assert coop.db.rows() == before
    three_quarters = _amendment_voted(coop, 230, 60, "three_quarters")  # 79 %
    with pytest.raises(InputError) as refused:
        _adopt(coop, "3", three_quarters, provides=["SE1", "SE2"])
    assert "four fifths majority of the votes cast that the law for the object or purpose " \
        "(CSA art. 6:86) requires to adopt article 3" in str(refused.value)  # fmt: skip
    [taken] = _adopt(coop, "44", three_quarters, provides=["SE4"])
    assert coop.failures() == []
    # Repealing an object article is a change of the object too.
    _adopt(coop, "3", None, provides=["SE1", "SE2"])
    repeal = {"number": "3", "resolution": three_quarters}
    with pytest.raises(InputError) as refused:
        coop.ledger.append(coop.founder, [Draft("StatuteArticleRepealed", repeal)])
    assert "four fifths majority" in str(refused.value)
    assert "requires to repeal article 3" in str(refused.value)
    assert taken.envelope.schema == 3


def test_statutes_may_require_more_than_the_law(coop: Coop) -> None:
    """An article that sets a stricter majority for amendments binds every amendment after
    it, whether its adoption says so (v3) or a later record of its provisions does."""
    [article_40] = _adopt(coop, "40", None, amendment_majority="four_fifths")
    vote = _amendment_voted(coop, 230, 60, "three_quarters")  # 79 %
    with pytest.raises(InputError) as refused:
        _adopt(coop, "44", vote, provides=["SE4"])
    assert "four fifths majority of the votes cast that article 40 of the statutes requires" in str(
        refused.value
    )
    # The statutes set it back to the law's: the same vote then carries the amendment.
    commands.record_provisions(coop.ledger, coop.founder, "40", [], amendment_majority=commands.LAW)
    _adopt(coop, "44", vote, provides=["SE4"])
    commands.record_provisions(coop.ledger, coop.founder, "40", [], amendment_majority="unanimity")
    with pytest.raises(InputError) as refused:
        _adopt(coop, "45", vote)
    assert "unanimity majority of the votes cast that article 40 of the statutes" in str(
        refused.value
    )
    assert article_40.envelope.payload["amendment_majority"] == "four_fifths"
    assert coop.failures() == []


def test_provisions_go_to_the_adoption_in_force_by_its_effective_date(coop: Coop) -> None:
    """A new text of article 44 taking effect in 2099 is not yet the article in force: what
    ``record article-provides`` records is for the text in force today."""
    [today] = _adopt(coop, "44", None)
    later = {"number": "44", "text_fr": "Texte futur.", "deed": "acte du 1er mars 2026"}
    coop.ledger.append(coop.founder, [Draft("StatuteArticleAdopted", later, "2099-01-01")])
    entry = commands.record_provisions(coop.ledger, coop.founder, "44", ["se4"])
    assert entry.envelope.payload == {"adoption": today.envelope.seq, "provides": ["SE4"]}


def test_a_resolution_keeps_the_majority_of_what_rests_on_it(coop: Coop) -> None:
    vote = _amendment_voted(coop, 250, 20, "three_quarters")
    [article] = _adopt(coop, "44", vote, provides=["SE4"])
    before = coop.db.rows()
    with pytest.raises(InputError) as refused:
        recount = ["votes_for=180", "votes_against=90", "majority_required=simple"]
        commands.correct(coop.ledger, coop.founder, vote, "recount", recount)
    assert refused.value.field == "replacement.votes_for"
    assert f"event {article.envelope.seq} (StatuteArticleAdopted) rests on this resolution: " \
        "180 for, 90 against" in str(refused.value)  # fmt: skip
    assert coop.db.rows() == before


def test_a_resolution_keeps_the_category_of_what_rests_on_it(coop: Coop) -> None:
    """A profit allocation rests on a profit_allocation resolution: correcting that resolution
    into another category is refused, naming the event that rests on it."""
    before = coop.db.rows()
    with pytest.raises(InputError) as refused:
        commands.correct(coop.ledger, coop.founder, coop.seqs["resolution"], "reclassify",
                         ["category=other"])  # fmt: skip
    assert refused.value.field == "replacement.category"
    assert f"event {coop.seqs['profit']} (ProfitAllocated) rests on this resolution" in str(
        refused.value
    )
    assert coop.db.rows() == before


def test_a_signer_key_named_with_a_control_character_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="U\\+202E") as refused:
        keys.generate("Eve\u202e")
    assert refused.value.field == "name"


# --- the store holds no state a projection trusts ---------------------------------------------


def test_nothing_stored_beside_the_events_changes_compliance(coop: Coop) -> None:
    before = projected.compliance(coop.ledger, 2025)[0]
    # A store from before this version kept a materialised view: an attacker edits one.
    coop.db.execute(
        (
            "CREATE TABLE IF NOT EXISTS projection_views (ledger TEXT NOT NULL, name TEXT NOT "
            "NULL, size BIGINT NOT NULL, state BYTEA NOT NULL, PRIMARY KEY (ledger, name))"
            if coop.db.backend == "postgres"
            else "CREATE TABLE IF NOT EXISTS projection_views (ledger TEXT NOT NULL, name TEXT "
            "NOT NULL, size BIGINT NOT NULL, state BLOB NOT NULL, PRIMARY KEY (ledger, name))",
            (),
        ),
        (
            "INSERT INTO projection_views VALUES (?, 'compliance/v1', 99999, ?)",
            (coop.ledger.id.hex, orjson.dumps({"size": 99999, "events": {}})),
        ),
    )
    assert projected.compliance(coop.ledger, 2025)[0] == before


# --- import reads the bundle once ------------------------------------------------------------


def test_import_writes_only_the_bytes_it_verified(
    coop: Coop, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = coop.bundle()
    lines = bundle.read_bytes().splitlines(keepends=True)
    target = coop.seqs["figure"]  # line 0 is the header
    real = transparency._audit

    def audit_then_edit(*args: Any) -> Any:
        found = real(*args)
        # Between verification and writing, the file changes in place (same length).
        data = bytearray(bundle.read_bytes())
        at = sum(len(line) for line in lines[:target]) + lines[target].index(b'"value":"') + 9
        data[at] = ord("9") if data[at] != ord("9") else ord("8")
        with bundle.open("r+b") as f:
            f.write(bytes(data))
        return found

    monkeypatch.setattr(transparency, "_audit", audit_then_edit)
    elsewhere = coop.db.sibling("council")
    with pytest.raises(IntegrityError) as refused:
        transparency.import_bundle(elsewhere.location, bundle)
    assert (refused.value.seq, refused.value.reason) == (target, "bundle-changed")
    # The changed event's batch (here: all of them) was not written.
    store = open_store(elsewhere.location)
    try:
        assert store.ledgers() == []
    finally:
        store.close()


def test_a_bundle_swapped_after_it_was_opened_is_not_read(
    coop: Coop, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bundle = coop.bundle()
    other = tmp_path / "other.bundle"
    other.write_bytes(bundle.read_bytes().replace(b'"value":"312"', b'"value":"313"'))
    real = transparency._audit

    def audit_then_swap(*args: Any) -> Any:
        found = real(*args)
        os.replace(other, bundle)  # a new file takes the name; the open one is unchanged
        return found

    monkeypatch.setattr(transparency, "_audit", audit_then_swap)
    elsewhere = coop.db.sibling("council")
    done = transparency.import_bundle(elsewhere.location, bundle)
    imported = Ledger.open(elsewhere.location)
    try:
        assert done.size == coop.ledger.size()
        [row] = imported.store.rows(imported.id, [coop.seqs["figure"]])
        assert b'"value":"312"' in row.entry
    finally:
        imported.close()


# --- audit states and cosigning from them ----------------------------------------------------


def test_an_audit_from_a_state_reads_the_history_a_new_event_refers_to(coop: Coop) -> None:
    first = transparency.audit(coop.bundle(), [coop.council.public])
    assert first.state is not None
    seq = _correct_review_without_board(coop)
    again = transparency.audit(coop.bundle(), [coop.council.public], state=first.state)
    assert again.skipped == 0
    assert f"refers to event {coop.seqs['review']}, which the audit state covers" in again.why_not
    assert [(f.seq, f.reason) for f in again.result.failures] == [(seq, "role-not-allowed")]


def test_cosign_verifies_from_the_councils_state(
    coop: Coop, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = transparency.audit(coop.bundle(), [coop.council.public])
    assert first.state is not None
    coop.ledger.append(
        coop.treasurer,
        [Draft("MetricSubmitted", {"year": 2025, "name": "ha", "value": "40", "unit": "ha"})],
    )
    signed = transparency.sign_checkpoint(coop.ledger, coop.founder)
    read: list[int] = []
    real = coop.ledger.store.pages

    def pages(ledger: Any, size: int, after: int = 0, upto: int | None = None) -> Any:
        if upto is None:  # a page read of the whole ledger's tail, as verify reads it
            read.append(after)
        return real(ledger, size, after, upto)

    monkeypatch.setattr(coop.ledger.store, "pages", pages)
    now = datetime.now(UTC)
    cosigned = transparency.cosign_checkpoint(coop.ledger, signed, coop.council, now, first.state)
    assert read == [first.state.resume.size]  # only the events after the state were read
    opened = checkpoint.open_note(
        cosigned,
        origin_line=coop.ledger.origin(),
        log_keys=[coop.founder.public.raw],
        cosigners=[coop.council.public],
    )
    assert opened.covered_until({coop.council.public.raw}) == now.year - 1


def test_cosign_refuses_a_state_the_ledger_no_longer_extends(coop: Coop) -> None:
    first = transparency.audit(coop.bundle(), [coop.council.public])
    assert first.state is not None
    # Event 8 edited, the stored tree rebuilt: the events after the state (none) verify, but
    # the checkpoint's root is not the one the state's tree gives.
    _tamper_and_rebuild(coop)
    signed = transparency.sign_checkpoint(coop.ledger, coop.founder)
    with pytest.raises(IntegrityError) as refused:
        transparency.cosign_checkpoint(
            coop.ledger, signed, coop.council, datetime.now(UTC), first.state
        )
    assert (refused.value.seq, refused.value.reason) == (coop.ledger.size(), "checkpoint-mismatch")
    # The state's own end rewritten: refused before anything is read.
    [row] = coop.ledger.store.rows(coop.ledger.id, [first.state.resume.size])
    coop.db.tamper(
        (
            "UPDATE stored_events SET state = ? WHERE originator_version = ?",
            (row.entry.replace(b"B-77", b"B-78"), first.state.resume.size),
        )
    )
    with pytest.raises(IntegrityError) as again:
        transparency.cosign_checkpoint(
            coop.ledger, signed, coop.council, datetime.now(UTC), first.state
        )
    assert (again.value.seq, again.value.reason) == (first.state.resume.size, "state-mismatch")


def test_cosign_with_a_state_on_the_cli(coop: Coop, book: Callable[..., Result]) -> None:
    bundle = coop.bundle()
    council = coop.db.folder / "council.key"
    keyfiles.write_key_files(coop.council, council, None)
    state = coop.db.folder / "council.state"
    assert (
        book("audit", str(bundle), "--trust", f"{council}.pub", "--save-state", str(state)).code
        == 0
    )
    cp = coop.db.folder / "cp"
    assert book("checkpoint", "--key", "@founder", "--out", str(cp)).code == 0
    done = book("checkpoint", "cosign", str(cp), "--key", str(council), "--state", str(state))
    assert done.code == 0, done.err
    assert "\u2014 Conseil-national".encode() in cp.read_bytes()
    # A cosignature means "verified": the same on a tampered ledger is refused, exit 1.
    _correct_review_without_board(coop)
    again = book("checkpoint", "--key", "@founder", "--out", str(cp))
    assert again.code == 0
    refused = book("checkpoint", "cosign", str(cp), "--key", str(council), "--state", str(state))
    assert refused.code == 1 and "role-not-allowed" in refused.err
