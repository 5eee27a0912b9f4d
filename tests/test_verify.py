"""Verification on larger ledgers: the multi-core path agrees with the single-core one, and memory
does not follow the ledger's size."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from conftest import db_rows, tamper

from ledger.app import commands
from ledger.chain import verify
from ledger.chain.ledger import Ledger
from ledger.chain.verify import CHUNK, verify_ledger
from ledger.core import keys
from ledger.core.draft import Draft
from ledger.core.envelope import entry_bytes, parse_entry
from ledger.tlog import checkpoint

EVENTS = 3197  # the genesis, two enrolments, and MetricSubmitted: pages of CHUNK and a rest


class Big(NamedTuple):
    db: Path
    founder: keys.SigningKey  # admin and secretary
    treasurer: keys.SigningKey  # signs events 3..1502


@pytest.fixture(scope="module")
def big(built: Big) -> Path:
    return built.db


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Big:
    db = tmp_path_factory.mktemp("big") / "ledger.db"
    founder, treasurer = keys.generate("Founder"), keys.generate("Treasurer")
    ledger = Ledger.create(str(db), enterprise="Big", number="0896.755.397", key=founder)
    commands.enrol_signer(ledger, founder, treasurer.public, "T", ["treasurer"])
    drafts = [
        Draft(
            "MetricSubmitted", {"year": 2025, "name": f"m{i % 7}", "value": str(i), "unit": "EUR"}
        )
        for i in range(EVENTS - 3)
    ]
    # An enrolment deep inside a page: workers must get its key before the events it signs.
    late = keys.generate("Late")
    ledger.append(treasurer, drafts[:1500])
    commands.enrol_signer(ledger, founder, late.public, "L", ["secretary"])
    ledger.append(late, drafts[1500:])
    ledger.close()
    return Big(db, founder, treasurer)


def _verify(db: Path, workers: int) -> tuple[bool, int, list[tuple[int, str]]]:
    ledger = Ledger.open(str(db), read_only=True)
    result = verify_ledger(ledger.store, ledger.id, workers=workers)
    ledger.close()
    return result.ok, result.events, [(f.seq, f.reason) for f in result.failures]


def test_parallel_equals_inline_on_an_intact_ledger(
    big: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folded: list[tuple[int, bool]] = []
    page = verify._Fold.page

    def spy(fold: verify._Fold, whole: verify._Page) -> bool:
        folded.append((whole.first.seq, page(fold, whole)))
        return folded[-1][1]

    monkeypatch.setattr(verify._Fold, "page", spy)
    assert _verify(big, 1) == _verify(big, 2) == (True, EVENTS, [])
    # Pages holding registry events (seqs 1, 2 and 1503) go event by event, the others whole.
    starts = range(1, EVENTS + 1, CHUNK)
    assert folded == [(s, True) for s in starts if not s <= 1503 < s + CHUNK and s > 2]


def test_parallel_equals_inline_on_a_tampered_ledger(big: Path, tmp_path: Path) -> None:
    copy = _copy(big, tmp_path)
    seq, _, entry = db_rows(copy)[2500]
    tamper(
        copy,
        (
            "UPDATE stored_events SET state = ? WHERE originator_version = ?",
            (entry.replace(b'"unit":"EUR"', b'"unit":"USD"'), seq),
        ),
        ("DELETE FROM stored_events WHERE originator_version = ?", (3000,)),
    )
    inline, parallel = _verify(copy, 1), _verify(copy, 2)
    assert inline == parallel
    assert inline[2] == [(seq, "bad-signature"), (3001, "sequence-gap")]


def _copy(db: Path, folder: Path) -> Path:
    copy = folder / "copy.db"
    with sqlite3.connect(db) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    return copy


def _resign(db: Path, seq: int, key: keys.SigningKey, **changes: Any) -> None:
    """Rewrite event ``seq`` with ``changes``, signed by ``key``, as an attacker with that key
    would."""
    entry = parse_entry(db_rows(db)[seq - 1][2])
    envelope = entry.envelope._replace(signer=key.public.key_id, **changes)
    data = entry_bytes(envelope, key.sign(envelope.signing_input()))
    tamper(db, ("UPDATE stored_events SET state = ? WHERE originator_version = ?", (data, seq)))


# Pages of CHUNK events (a power of two, at most 1024): 1025 and 2049 start one, 1024 ends one.
# Workers hand a clean page to the fold whole; these faults sit on a page's first or last event,
# or inside, where the fold must go back to event by event to name them as one worker does.
FAULTS = {
    "gap at a page's start": (
        lambda big, db: tamper(
            db, ("DELETE FROM stored_events WHERE originator_version = 1025", ())
        ),
        [(1026, "sequence-gap")],
    ),
    "unknown signer at a page's start and inside": (
        lambda big, db: [_resign(db, s, keys.generate("Stranger")) for s in (2049, 2100)],
        [
            (2049, "unknown-signer"),
            (2050, "chain-broken"),
            (2100, "unknown-signer"),
            (2101, "chain-broken"),
        ],
    ),
    "time reversed at a page's start": (
        lambda big, db: _resign(db, 1025, big.treasurer, recorded_at="2000-01-01T00:00:00.000000Z"),
        [(1025, "time-reversed"), (1026, "chain-broken")],
    ),
    "forged body at a page's end": (
        lambda big, db: tamper(
            db,
            (
                "UPDATE stored_events SET state = CAST(replace(state, 'EUR', 'USD') AS BLOB) "
                "WHERE originator_version = 1024",
                (),
            ),
        ),
        [(1024, "bad-signature")],
    ),
    "wrong type column in a page": (
        lambda big, db: tamper(
            db, ("UPDATE stored_events SET topic = 'Other' WHERE originator_version = 1500", ())
        ),
        [(1500, "topic-mismatch")],
    ),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_parallel_names_the_faults_the_inline_path_names(
    built: Big, tmp_path: Path, fault: str
) -> None:
    damage, expected = FAULTS[fault]
    copy = _copy(built.db, tmp_path)
    damage(built, copy)
    inline, parallel = _verify(copy, 1), _verify(copy, 2)
    assert inline == parallel
    assert inline[2] == expected


def test_parallel_equals_inline_from_a_trusted_checkpoint(
    built: Big, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed: list[int] = []
    take = verify._Fold.hashed
    monkeypatch.setattr(
        verify._Fold, "hashed", lambda fold, page: hashed.append(page.last) or take(fold, page)
    )
    ledger = Ledger.open(str(built.db), read_only=True)
    size = 1500  # inside a page: the trusted prefix ends mid-page
    signed = checkpoint.sign(ledger.origin(), size, ledger.tree().root(size), built.founder)
    trusted = verify.TrustedCheckpoint(signed.to_bytes())
    results = [
        verify_ledger(ledger.store, ledger.id, workers=workers, trusted=trusted)
        for workers in (1, 2)
    ]
    ledger.close()
    assert results[0] == results[1]
    assert results[0].ok and results[0].events == EVENTS
    # Whole pages below the trusted size, but the first (the genesis and an enrolment, read
    # for the registry): only hashed, and taken whole.
    assert hashed == [end for end in range(2 * CHUNK, size, CHUNK) if end < size - 1]
