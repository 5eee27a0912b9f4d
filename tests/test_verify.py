"""Verification on larger ledgers: the multi-core path agrees with the single-core one, and memory
does not follow the ledger's size."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from conftest import db_rows, tamper

from ledger import keys, verify
from ledger.ledger import Draft, Ledger
from ledger.verify import CHUNK, verify_ledger


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("big") / "ledger.db"
    founder, treasurer = keys.generate("Founder"), keys.generate("Treasurer")
    ledger = Ledger.create(str(db), enterprise="Big", number="0896.755.397", key=founder)
    pub = treasurer.public
    ledger.append(
        founder,
        [
            Draft(
                "SignerEnrolled",
                {"key_id": pub.key_id, "public_key": pub.b64, "name": "T", "roles": ["treasurer"]},
            )
        ],
    )
    drafts = [
        Draft(
            "MetricSubmitted", {"year": 2025, "name": f"m{i % 7}", "value": str(i), "unit": "EUR"}
        )
        for i in range(3 * CHUNK + 123)
    ]
    # An enrolment deep inside a page: workers must get its key before the events it signs.
    late = keys.generate("Late")
    ledger.append(treasurer, drafts[:1500])
    ledger.append(
        founder,
        [
            Draft(
                "SignerEnrolled",
                {
                    "key_id": late.public.key_id,
                    "public_key": late.public.b64,
                    "name": "L",
                    "roles": ["secretary"],
                },
            )
        ],
    )
    ledger.append(late, drafts[1500:])
    ledger.close()
    return db


@pytest.fixture(params=["threads", "processes"])
def pool(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(verify, "POOL", request.param)
    return str(request.param)


def _verify(db: Path, workers: int) -> tuple[bool, int, list[tuple[int, str]]]:
    ledger = Ledger.open(str(db), read_only=True)
    result = verify_ledger(ledger.store, ledger.id, workers=workers)
    ledger.close()
    return result.ok, result.events, [(f.seq, f.reason) for f in result.failures]


def test_parallel_equals_inline_on_an_intact_ledger(big: Path, pool: str) -> None:
    assert _verify(big, 1) == _verify(big, 2) == (True, 3 * CHUNK + 126, [])


def test_parallel_equals_inline_on_a_tampered_ledger(big: Path, tmp_path: Path, pool: str) -> None:
    copy = tmp_path / "copy.db"
    with sqlite3.connect(big) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
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
