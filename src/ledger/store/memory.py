"""A store in memory: a list of rows and dicts of nodes and personal values a ledger, for tests
and for trying the library without a database. It keeps the contract of ``Store``
(``tests/test_store_contract.py`` runs the same tests on it, SQLite and PostgreSQL): an append
lands whole or not at all, a taken sequence number or node is ``Conflict``, reads return what
was appended, in order.

It holds no trigger and no file: what an attacker could do to a database, a test does with
``tamper``, which replaces a stored row as an edited table would.
"""

from __future__ import annotations

import bisect
import heapq
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from ledger.core.envelope import Row
from ledger.store.base import PAGE, Conflict, Held, Node


@dataclass
class _Ledger:
    rows: list[Row] = field(default_factory=list)  # by seq; seq i + 1 at index i when intact
    nodes: dict[tuple[int, int], bytes] = field(default_factory=dict)
    personal: dict[tuple[int, str], tuple[bytes, bytes]] = field(default_factory=dict)


class MemoryStore:
    """Ledgers in this process's memory; gone when it ends."""

    remnant: str | None = None  # nothing is written anywhere, so nothing remains

    def __init__(self, target: str = "memory") -> None:
        self.target = target
        self._ledgers: dict[UUID, _Ledger] = {}  # in creation order
        self._lock = threading.Lock()

    def _of(self, ledger: UUID) -> _Ledger:
        return self._ledgers.get(ledger) or _Ledger()

    def ledgers(self) -> list[UUID]:
        return [i for i, held in self._ledgers.items() if held.rows and held.rows[0].seq == 1]

    def last(self, ledger: UUID) -> Row | None:
        rows = self._of(ledger).rows
        return rows[-1] if rows else None

    def _range(self, ledger: UUID, after: int, upto: int | None) -> list[Row]:
        rows = self._of(ledger).rows
        start = bisect.bisect_right(rows, after, key=_seq)
        end = len(rows) if upto is None else bisect.bisect_right(rows, upto, key=_seq)
        return rows[start:end]

    def read(self, ledger: UUID, after: int = 0, upto: int | None = None) -> Iterator[Row]:
        yield from self._range(ledger, after, upto)

    def pages(
        self, ledger: UUID, size: int, after: int = 0, upto: int | None = None
    ) -> Iterator[list[tuple[int, str, bytes]]]:
        rows = self._range(ledger, after, upto)
        for at in range(0, len(rows), size):
            yield [tuple(r) for r in rows[at : at + size]]  # type: ignore[misc]

    def rows(self, ledger: UUID, seqs: Sequence[int]) -> list[Row]:
        wanted = set(seqs)
        return [r for r in self._of(ledger).rows if r.seq in wanted]

    def read_topics(
        self, ledger: UUID, topics: Sequence[str], upto: int | None = None
    ) -> list[Row]:
        return list(self.topics(ledger, topics, upto))

    def topics(self, ledger: UUID, topics: Sequence[str], upto: int | None = None) -> Iterator[Row]:
        wanted = set(topics)
        rows = self._range(ledger, 0, upto)
        return heapq.merge((r for r in rows if r.topic in wanted), key=_seq)

    def append(
        self,
        ledger: UUID,
        rows: Sequence[Row],
        nodes: Sequence[Node] = (),
        personal: Sequence[Held] = (),
        erase: Sequence[tuple[int, str]] = (),
    ) -> None:
        with self._lock:
            held = self._ledgers.get(ledger) or _Ledger()
            taken = {r.seq for r in held.rows}
            seqs = [r.seq for r in rows]
            if taken & set(seqs) or len(set(seqs)) != len(seqs):
                raise Conflict(f"sequence number taken in ledger {ledger}")
            wanted = [(level, idx) for level, idx, _ in nodes]
            if set(wanted) & held.nodes.keys() or len(set(wanted)) != len(wanted):
                raise Conflict(f"tree node taken in ledger {ledger}")
            keys = [(seq, name) for seq, name, _, _ in personal]
            if set(keys) & held.personal.keys() or len(set(keys)) != len(keys):
                raise Conflict(f"personal value taken in ledger {ledger}")
            # Everything is checked: now it lands whole.
            held.rows = sorted([*held.rows, *rows], key=_seq)
            held.nodes.update({(level, idx): h for level, idx, h in nodes})
            held.personal.update({(s, n): (salt, value) for s, n, salt, value in personal})
            for key in erase:
                held.personal.pop(key, None)
            self._ledgers[ledger] = held

    def node_pages(self, ledger: UUID) -> Iterator[list[tuple[int, int, bytes]]]:
        found = sorted((level, idx, h) for (level, idx), h in self._of(ledger).nodes.items())
        for at in range(0, len(found), PAGE):
            yield found[at : at + PAGE]

    def nodes(
        self, ledger: UUID, wanted: Sequence[tuple[int, int]]
    ) -> dict[tuple[int, int], bytes]:
        held = self._of(ledger).nodes
        return {w: held[w] for w in wanted if w in held}

    def personal(self, ledger: UUID, seqs: Sequence[int] | None = None) -> list[Held]:
        held = self._of(ledger).personal
        chosen = None if seqs is None else set(seqs)
        return [
            (seq, name, salt, value)
            for (seq, name), (salt, value) in sorted(held.items())
            if chosen is None or seq in chosen
        ]

    def tamper(self, ledger: UUID, row: Row) -> None:
        """Put ``row`` where the row of its seq is (or add it), as an attacker editing the
        events table would: no check, no tree node."""
        held = self._ledgers.setdefault(ledger, _Ledger())
        held.rows = sorted([r for r in held.rows if r.seq != row.seq] + [row], key=_seq)

    def close(self) -> None:
        """Nothing to release; the ledgers stay readable until the store is dropped."""


def _seq(row: Row) -> int:
    return row.seq
