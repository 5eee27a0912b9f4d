"""The ledger's Merkle tree, served from the complete-subtree nodes the store keeps.

Leaf ``i`` (0-based) is the entry bytes of event ``seq = i + 1``. Roots at any size, inclusion and
consistency proofs cost O(log n) node reads. The nodes are a cache the store writes with the
events, in the same transaction; ``verify`` recomputes the tree from the entries and checks it.
"""

from __future__ import annotations

from uuid import UUID

from ledger import merkle
from ledger.errors import StoreError
from ledger.store import Store


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
        return merkle.inclusion_proof_from(self.subtree_root, index, size)

    def consistency_proof(self, old_size: int, size: int) -> list[bytes]:
        return merkle.consistency_proof_from(self.subtree_root, old_size, size)
