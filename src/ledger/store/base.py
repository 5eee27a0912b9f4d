"""What a store is: the contract every backend keeps (``sqlite``, ``postgres``, ``memory``),
stated once. ``tests/test_store_contract.py`` runs one suite of tests on all three.

A store holds ledgers; each ledger is its events as rows (seq, the type column, the entry bytes,
untouched), the Merkle tree nodes those events complete, and the clear values of their personal
fields. A store has no rule of its own: it returns what it holds, even what an attacker left
there, and ``chain.verify`` says what is wrong with it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable
from uuid import UUID

from ledger.core.envelope import Row

PAGE = 2000  # rows a read fetches at a time

Node = tuple[int, int, bytes]  # a Merkle tree node: level, index, hash
Held = tuple[int, str, bytes, bytes]  # a clear personal value: seq, field, salt, value


class Conflict(Exception):
    """Another writer took the sequence number (or a tree node, or a personal value) first."""


@runtime_checkable
class Store(Protocol):
    """One or more ledgers. Reads never change anything; ``append`` is the only write."""

    target: str  # where it is, as the user named it (a path, a URL without password)
    # Why the bytes of the values the last erasing ``append`` deleted may still be in the
    # database files (None: purged, or nothing to purge).
    remnant: str | None

    def ledgers(self) -> list[UUID]:
        """The ledgers that have a first event, oldest first."""
        ...

    def last(self, ledger: UUID) -> Row | None:
        """The event of ``ledger`` with the highest seq; None when it has none."""
        ...

    def read(self, ledger: UUID, after: int = 0, upto: int | None = None) -> Iterator[Row]:
        """The events of ``ledger`` with ``after < seq <= upto``, by seq."""
        ...

    def pages(
        self, ledger: UUID, size: int, after: int = 0, upto: int | None = None
    ) -> Iterator[list[tuple[int, str, bytes]]]:
        """``read``'s events as lists of at most ``size`` plain (seq, type, entry) tuples, all
        but the last full."""
        ...

    def rows(self, ledger: UUID, seqs: Sequence[int]) -> list[Row]:
        """The events of ``ledger`` with these seqs (those that exist), by seq."""
        ...

    def read_topics(
        self, ledger: UUID, topics: Sequence[str], upto: int | None = None
    ) -> list[Row]:
        """The events of ``ledger`` whose type column is one of ``topics``, ``seq <= upto``, by
        seq."""
        ...

    def topics(self, ledger: UUID, topics: Sequence[str], upto: int | None = None) -> Iterator[Row]:
        """``read_topics`` as it is read: a few events of a type cost what they are, not what
        the ledger is."""
        ...

    def append(
        self,
        ledger: UUID,
        rows: Sequence[Row],
        nodes: Sequence[Node] = (),
        personal: Sequence[Held] = (),
        erase: Sequence[tuple[int, str]] = (),
    ) -> None:
        """Add ``rows``, the tree ``nodes`` they complete and the ``personal`` values they commit
        to, and delete the ``erase`` (seq, field) values a redaction among them erases: all of
        it lands together or none of it does. ``Conflict`` when a seq (or node, or personal
        value) is taken; ``StoreError`` when the store cannot write."""
        ...

    def node_pages(self, ledger: UUID) -> Iterator[list[tuple[int, int, bytes]]]:
        """Every tree node (level, index, hash) of ``ledger``, by level then index, in pages."""
        ...

    def nodes(
        self, ledger: UUID, wanted: Sequence[tuple[int, int]]
    ) -> dict[tuple[int, int], bytes]:
        """The tree nodes of ``ledger`` among ``wanted`` (level, index) pairs, those it has."""
        ...

    def personal(self, ledger: UUID, seqs: Sequence[int] | None = None) -> list[Held]:
        """The clear personal values of these events (None: all), by seq then field."""
        ...

    def close(self) -> None:
        """Release the connection; the store is not used after."""
        ...
