"""The store contract (``ledger.store.base.Store``), one suite run on every backend: the memory
store, a SQLite file and a PostgreSQL schema. A backend that passes it can stand under
``Ledger`` and ``verify``; the last tests run a whole ledger on each.

Also: eventsourcing's own recorder reads what the SQL stores write, so that an upgrade of the
library that changes its table fails here, not in the field."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from conftest import POSTGRES_URL, _postgres_database, _schemas, need_postgres

from ledger.chain.ledger import Ledger
from ledger.chain.verify import verify_ledger
from ledger.core import keys
from ledger.core.draft import Draft
from ledger.core.envelope import Row
from ledger.store import Conflict, MemoryStore, SQLStore, Store, open_store

BACKENDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    if request.param == "sqlite":
        opened = open_store(str(tmp_path / "contract.db"), create=True)
    else:
        need_postgres()
        opened = open_store(_postgres_database(tmp_path).target, create=True)
    yield opened
    opened.close()
    if request.param == "postgres":
        with psycopg.connect(POSTGRES_URL, autocommit=True) as c:
            while _schemas:
                c.execute(f'DROP SCHEMA IF EXISTS "{_schemas.pop()}" CASCADE')


A, B = uuid.UUID(int=1), uuid.UUID(int=2)
TYPES = ("LedgerOpened", "MetricSubmitted", "BoardMeetingHeld")


def rows(first: int, last: int) -> list[Row]:
    """Rows ``first..last``, their types in turn, their entries bytes no text codec would keep
    (a store keeps them untouched)."""
    return [Row(seq, TYPES[seq % 3], b"\xff\x00entry %d" % seq) for seq in range(first, last + 1)]


def h(n: int) -> bytes:
    return bytes([n]) * 32


def test_it_is_a_store(store: Store) -> None:
    assert isinstance(store, Store)
    assert isinstance(store.target, str) and store.remnant is None


def test_an_empty_store_holds_nothing(store: Store) -> None:
    assert store.ledgers() == []
    assert store.last(A) is None
    assert list(store.read(A)) == [] and list(store.pages(A, 10)) == []
    assert store.rows(A, [1, 2]) == [] and store.read_topics(A, list(TYPES)) == []
    assert store.nodes(A, [(0, 0)]) == {} and list(store.node_pages(A)) == []
    assert store.personal(A) == [] and store.personal(A, []) == []


def test_what_is_appended_reads_back_in_order(store: Store) -> None:
    store.append(A, rows(1, 5))
    store.append(A, rows(6, 12))
    assert list(store.read(A)) == rows(1, 12)
    assert list(store.read(A, after=3, upto=7)) == rows(4, 7)
    assert list(store.read(A, after=12)) == []
    assert store.last(A) == rows(12, 12)[0]
    assert store.rows(A, [9, 2, 40, 5]) == [rows(2, 2)[0], rows(5, 5)[0], rows(9, 9)[0]]
    assert store.rows(A, []) == []


def test_pages_are_full_but_the_last(store: Store) -> None:
    store.append(A, rows(1, 12))
    pages = list(store.pages(A, 5, after=1))
    assert [len(p) for p in pages] == [5, 5, 1]
    assert [tuple(t) for p in pages for t in p] == [tuple(r) for r in rows(2, 12)]
    assert all(type(t[2]) is bytes for p in pages for t in p)
    assert [len(p) for p in store.pages(A, 4, upto=8)] == [4, 4]


def test_events_of_some_types_in_seq_order(store: Store) -> None:
    store.append(A, rows(1, 20))
    wanted = ["BoardMeetingHeld", "LedgerOpened"]
    expected = [r for r in rows(1, 20) if r.topic in wanted]
    assert store.read_topics(A, wanted) == expected
    assert list(store.topics(A, wanted, upto=10)) == [r for r in expected if r.seq <= 10]
    assert store.read_topics(A, ["SignerEnrolled"]) == []


def test_ledgers_are_apart_and_listed_oldest_first(store: Store) -> None:
    store.append(B, rows(1, 3))
    store.append(A, rows(1, 2))
    store.append(B, rows(4, 4))
    assert store.ledgers() == [B, A]
    assert list(store.read(A)) == rows(1, 2) and store.last(B) == rows(4, 4)[0]


def test_a_taken_seq_is_a_conflict_and_nothing_of_the_batch_lands(store: Store) -> None:
    store.append(A, rows(1, 3), [(0, 0, h(1))], [(1, "name", b"salt", b"Ana")])
    with pytest.raises(Conflict):
        store.append(A, rows(3, 5), [(0, 3, h(4))], [(4, "name", b"salt", b"Bo")])
    assert list(store.read(A)) == rows(1, 3)
    assert store.nodes(A, [(0, 3)]) == {}
    assert store.personal(A) == [(1, "name", b"salt", b"Ana")]
    store.append(A, rows(4, 5))  # the next writer after it goes on
    assert store.last(A) == rows(5, 5)[0]


def test_a_taken_tree_node_is_a_conflict(store: Store) -> None:
    store.append(A, rows(1, 1), [(0, 0, h(1))])
    with pytest.raises(Conflict):
        store.append(A, rows(2, 2), [(0, 0, h(2))])
    assert list(store.read(A)) == rows(1, 1) and store.nodes(A, [(0, 0)]) == {(0, 0): h(1)}


def test_tree_nodes_by_level_then_index(store: Store) -> None:
    store.append(A, rows(1, 2), [(0, 0, h(1)), (0, 1, h(2)), (1, 0, h(3))])
    store.append(A, rows(3, 3), [(0, 2, h(4))])
    store.append(B, rows(1, 1), [(0, 0, h(9))])
    assert [n for page in store.node_pages(A) for n in page] == [
        (0, 0, h(1)),
        (0, 1, h(2)),
        (0, 2, h(4)),
        (1, 0, h(3)),
    ]
    assert store.nodes(A, [(1, 0), (0, 2), (5, 5)]) == {(1, 0): h(3), (0, 2): h(4)}


def test_personal_values_are_kept_read_and_erased(store: Store) -> None:
    held = [(2, "name", b"s1", b"Ana"), (2, "address", b"s2", b"Rue 1"), (3, "name", b"s3", b"Bo")]
    store.append(A, rows(1, 3), personal=held)
    assert store.personal(A) == sorted(held, key=lambda p: (p[0], p[1]))
    assert store.personal(A, [3]) == [(3, "name", b"s3", b"Bo")]
    store.append(A, rows(4, 4), erase=[(2, "name")])
    assert store.personal(A) == [(2, "address", b"s2", b"Rue 1"), (3, "name", b"s3", b"Bo")]
    assert store.personal(B) == []


def test_a_ledger_runs_on_it_and_verifies(store: Store) -> None:
    key = keys.generate("Founder")
    ledger = Ledger.create(store, enterprise="Contract SC", number="0403.170.701", key=key)
    ledger.append(key, [Draft("MetricSubmitted", _metric(n)) for n in range(5)])
    again = Ledger.open(store)
    assert again.id == ledger.id and again.size() == 6
    result = verify_ledger(store, ledger.id)
    assert result.ok and result.events == 6
    assert result.root == ledger.tree().root(6).hex()


def _metric(n: int) -> dict[str, object]:
    return {"year": 2025, "name": "workers", "value": str(n), "unit": "n"}


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_eventsourcing_reads_what_the_store_writes(backend: str, tmp_path: Path) -> None:
    """The SQL stores write eventsourcing's table with their own statements; its recorder must
    read each event back as the stored event of the ledger's stream."""
    if backend == "postgres":
        need_postgres()
    target = str(tmp_path / "es.db") if backend == "sqlite" else _postgres_database(tmp_path).target
    opened = open_store(target, create=True)
    try:
        assert isinstance(opened, SQLStore)
        opened.append(A, rows(1, 4))
        stored = opened.recorder().select_events(A.hex)
        assert [(e.originator_version, e.topic, bytes(e.state)) for e in stored] == [
            (r.seq, r.topic, r.entry) for r in rows(1, 4)
        ]
        assert str(stored[0].originator_id).replace("-", "") == A.hex
    finally:
        opened.close()
