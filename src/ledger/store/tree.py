"""The ledger's Merkle tree, served from the complete-subtree nodes the store keeps.

Leaf ``i`` (0-based) is the entry bytes of event ``seq = i + 1``. Roots at any size, inclusion and
consistency proofs cost O(log n) node reads, in one read. The nodes are a cache the store writes
with the events, in the same transaction; ``verify`` recomputes the tree from the entries and
checks it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from uuid import UUID

from ledger.errors import StoreError
from ledger.store import Store
from ledger.tlog import merkle


class LedgerTree:
    def __init__(self, store: Store, ledger: UUID) -> None:
        self.store = store
        self.ledger = ledger

    def nodes(self, wanted: Sequence[merkle.Node]) -> Mapping[merkle.Node, bytes]:
        """:data:`merkle.Nodes` over the store: every wanted node, or a :class:`StoreError`."""
        found = self.store.nodes(self.ledger, list(wanted))
        if len(found) != len(wanted):
            missing = next(w for w in wanted if w not in found)
            raise StoreError(f"tree node {missing} of ledger {self.ledger} is missing")
        return found

    def compact_range(self, size: int) -> merkle.CompactRange:
        wanted = merkle.perfect_subtrees(0, size)
        found = self.nodes(wanted)
        return merkle.CompactRange(size, [found[w] for w in wanted])

    def root(self, size: int) -> bytes:
        return merkle.root_at(size, self.nodes)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return merkle.inclusion_proof_from(self.nodes, index, size)

    def consistency_proof(self, old_size: int, size: int) -> list[bytes]:
        return merkle.consistency_proof_from(self.nodes, old_size, size)
