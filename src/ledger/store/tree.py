"""The ledger's Merkle tree, served from the complete-subtree nodes the store keeps.

Leaf ``i`` (0-based) is the entry bytes of event ``seq = i + 1``. Roots at any size, inclusion and
consistency proofs cost O(log n) node reads. The nodes are a cache the store writes with the
events, in the same transaction; ``verify`` recomputes the tree from the entries and checks it.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from ledger.errors import StoreError
from ledger.store import Store
from ledger.tlog import merkle


class LedgerTree:
    def __init__(self, store: Store, ledger: UUID) -> None:
        self.store = store
        self.ledger = ledger

    def subtree_root(self, start: int, end: int) -> bytes:
        wanted = merkle.perfect_subtrees(start, end)
        found = self.store.nodes(self.ledger, wanted)
        if len(found) != len(wanted):
            missing = next(w for w in wanted if w not in found)
            raise StoreError(f"tree node {missing} of ledger {self.ledger} is missing")
        return merkle.fold_subtrees([found[w] for w in wanted])

    def compact_range(self, size: int) -> merkle.CompactRange:
        wanted = merkle.perfect_subtrees(0, size)
        found = self.store.nodes(self.ledger, wanted)
        if len(found) != len(wanted):
            raise StoreError(f"tree nodes of ledger {self.ledger} are missing at size {size}")
        return merkle.CompactRange(size, [found[w] for w in wanted])

    def root(self, size: int) -> bytes:
        return self.subtree_root(0, size)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return self._prove(lambda root: merkle.inclusion_proof_from(root, index, size))

    def consistency_proof(self, old_size: int, size: int) -> list[bytes]:
        return self._prove(lambda root: merkle.consistency_proof_from(root, old_size, size))

    def _prove(self, prover: Callable[[Callable[[int, int], bytes]], list[bytes]]) -> list[bytes]:
        # Two passes: one to learn which subtrees the proof needs (pure, no hashing of
        # consequence), then one read transaction for all their nodes, then the proof.
        ranges: list[tuple[int, int]] = []

        def note(start: int, end: int) -> bytes:
            ranges.append((start, end))
            return _PLACEHOLDER

        prover(note)
        wanted = list(dict.fromkeys(n for r in ranges for n in merkle.perfect_subtrees(*r)))
        found = self.store.nodes(self.ledger, wanted)
        if len(found) != len(wanted):
            missing = next(w for w in wanted if w not in found)
            raise StoreError(f"tree node {missing} of ledger {self.ledger} is missing")
        return prover(
            lambda start, end: merkle.fold_subtrees(
                [found[n] for n in merkle.perfect_subtrees(start, end)]
            )
        )


_PLACEHOLDER = bytes(32)
