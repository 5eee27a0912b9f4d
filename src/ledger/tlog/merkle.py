"""RFC 6962 / RFC 9162 Merkle trees: tree hashes, inclusion and consistency proofs.

Pure and deterministic: no I/O, only :mod:`hashlib`. Every hash is 32 bytes of SHA-256.

Hash rules (RFC 9162 §2.1.1)::

    MTH({})      = SHA-256(b"")
    leaf hash    = SHA-256(0x00 || entry)
    node hash    = SHA-256(0x01 || left || right)
    MTH(D[n])    = node hash(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two < n

Proofs are lists of 32-byte hashes in the RFC order (from the leaf / old subtree upwards).
There is one tree structure: the roots of its complete subtrees (:data:`Node`), which the
writer's :class:`CompactRange` makes, the store keeps and verify rebuilds. The provers read
them through a :data:`Nodes` function (:func:`inclusion_proof_from`,
:func:`consistency_proof_from`, :func:`root_at`); over plain leaf hashes
(:func:`inclusion_proof`, :func:`consistency_proof`, :func:`root_hash`) they read what the
writer makes of those. :func:`inclusion_ranges` and :func:`consistency_ranges` follow the
RFC's recursive definitions PATH and SUBPROOF to say which leaf ranges a proof lists; each
range is a run of complete subtrees. The verifiers follow the loops of RFC 9162 §2.1.3.2
(inclusion) and §2.1.4.2 (consistency) step by step. As in transparency-dev/merkle, each
verifier is split into a "compute" half (:func:`root_from_inclusion_proof`,
:func:`roots_from_consistency_proof`) and a ``verify_*`` half that compares against the
supplied roots.

Verifiers return ``None`` or raise :class:`ProofError`, whose ``reason`` is one of:

- ``index-out-of-range``: inclusion, ``index`` is not in ``[0, size)`` (so any size-0 tree);
- ``negative-size``: consistency, a tree size is negative;
- ``old-size-exceeds-new-size``: consistency, ``old_size > new_size``;
- ``size-zero``: consistency, ``old_size == 0 < new_size`` (see the size-0 rule below);
- ``bad-hash-length``: a leaf hash, proof element or root that is checked is not 32 bytes;
- ``wrong-proof-size``: the proof does not have the one length the sizes allow;
- ``root-mismatch``: the root computed from the proof differs from the (new) root supplied;
- ``old-root-mismatch``: consistency, the old root computed differs from the one supplied.

Size-0 rule (consistency)
    * ``0 -> n`` with ``n > 0`` is always rejected (``size-zero``), whatever the proof: the
      empty tree is a prefix of every tree, so there is nothing a proof could show. This is
      transparency-dev/merkle's rule, not the C2SP witness rule (which accepts an empty
      proof). A verifier that has only seen the empty tree must handle genesis itself, by
      adopting the first signed checkpoint without a consistency proof.
    * ``0 -> 0`` is accepted only with an empty proof and both roots equal to the empty-tree
      root ``SHA-256(b"")``: the size-0 root is known, so unlike other equal sizes it is
      checked, not merely compared (any other pair of roots is ``old-root-mismatch`` /
      ``root-mismatch``; a non-empty proof is ``wrong-proof-size``).
    * ``n -> n`` with ``n > 0`` needs an empty proof and ``old_root == new_root``. Nothing is
      hashed in this case, so the roots are compared as opaque byte strings and their
      length is not checked (the transparency-dev vector
      ``consistency/additional/sizes-are-equal-one-and-proof-is-empty`` requires two equal
      12-byte roots to be accepted).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Final

__all__ = [
    "CompactRange",
    "Node",
    "Nodes",
    "ProofError",
    "consistency_proof",
    "consistency_proof_from",
    "consistency_ranges",
    "fold_subtrees",
    "inclusion_proof",
    "inclusion_proof_from",
    "inclusion_ranges",
    "leaf_hash",
    "node_hash",
    "nodes_of",
    "perfect_subtrees",
    "range_roots",
    "root_at",
    "root_from_inclusion_proof",
    "root_hash",
    "roots_from_consistency_proof",
    "subtree_levels",
    "verify_consistency",
    "verify_inclusion",
]

_HASH_SIZE: Final = 32
_EMPTY_ROOT: Final = hashlib.sha256(b"").digest()
_LEAF_PREFIX: Final = b"\x00"
_NODE_PREFIX: Final = b"\x01"


class ProofError(ValueError):
    """A proof, or the sizes and roots it was checked against, did not verify.

    ``reason`` is a short, stable kebab-case code (listed in the module docstring) meant for
    programs; the message is for people and says what failed, with got vs expected values.
    """

    reason: str

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


# --- hashing -------------------------------------------------------------------------------


def leaf_hash(entry: bytes) -> bytes:
    """Return the RFC 6962 leaf hash ``SHA-256(0x00 || entry)``. Any ``entry`` is allowed."""
    return hashlib.sha256(_LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the interior node hash ``SHA-256(0x01 || left || right)``.

    Raises :class:`ValueError` if ``left`` or ``right`` is not 32 bytes: with unequal
    lengths the concatenation would no longer identify its two children.
    """
    if len(left) != _HASH_SIZE or len(right) != _HASH_SIZE:
        raise ValueError(
            f"node_hash needs two {_HASH_SIZE}-byte hashes, got {len(left)} and {len(right)} bytes"
        )
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly below ``n`` (requires ``n >= 2``): the RFC's ``k``."""
    return 1 << ((n - 1).bit_length() - 1)


# --- the tree as its complete subtrees ------------------------------------------------------
#
# Every holder of the tree keeps the same thing: the root of each complete ("perfect") subtree,
# node (level, index) covering leaves [index * 2**level, (index + 1) * 2**level). The writer's
# CompactRange makes them as leaves arrive, the store keeps them beside the events, verify
# rebuilds them from the entries. Any range the RFC's recursion asks for is a run of such nodes,
# so a root or a proof is one read of O(log n) nodes, whoever holds them.

Node = tuple[int, int]
"""A complete subtree: (level, index), covering ``2**level`` leaves from ``index * 2**level``."""

Nodes = Callable[[Sequence[Node]], Mapping[Node, bytes]]
"""Answers the hashes of the wanted nodes, every one of them (or raises)."""


def perfect_subtrees(start: int, end: int) -> list[Node]:
    """The (level, index) nodes whose leaves, left to right, make up ``[start, end)``.

    Precondition: ``0 <= start <= end`` and ``start`` a multiple of the largest power of two
    not above ``end - start`` (true of every range in the RFC's recursion).
    """
    nodes = []
    while start < end:
        level = (end - start).bit_length() - 1
        while start % (1 << level):
            level -= 1
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def subtree_levels(leaves: bytes) -> list[bytes]:
    """Every node of the perfect subtree over ``leaves`` (leaf hashes joined, a power of two
    of them), level by level from the leaves up, each level's hashes joined."""
    count = len(leaves) // _HASH_SIZE
    if count < 1 or count & (count - 1) or len(leaves) % _HASH_SIZE:
        raise ValueError(f"{len(leaves)} bytes are not a power of two of {_HASH_SIZE}-byte hashes")
    levels = [leaves]
    while len(below := levels[-1]) > _HASH_SIZE:
        levels.append(
            b"".join(
                [  # node_hash of two neighbours, read together
                    hashlib.sha256(_NODE_PREFIX + below[at : at + 2 * _HASH_SIZE]).digest()
                    for at in range(0, len(below), 2 * _HASH_SIZE)
                ]
            )
        )
    return levels


def fold_subtrees(roots: Sequence[bytes]) -> bytes:
    """The root of a range given its perfect subtrees' roots, largest (leftmost) first."""
    if not roots:
        return _EMPTY_ROOT
    acc = roots[-1]
    for left in reversed(roots[:-1]):
        acc = node_hash(left, acc)
    return acc


def range_roots(ranges: Sequence[tuple[int, int]], nodes: Nodes) -> list[bytes]:
    """The roots of leaf ranges ``[start, end)``, from the nodes they are made of, asked for
    in one call (one read transaction for a store)."""
    parts = [perfect_subtrees(start, end) for start, end in ranges]
    found = nodes(list(dict.fromkeys(node for part in parts for node in part)))
    return [fold_subtrees([found[node] for node in part]) for part in parts]


def root_at(size: int, nodes: Nodes) -> bytes:
    """MTH of the first ``size`` leaves; ``SHA-256(b"")`` for 0."""
    return range_roots([(0, size)], nodes)[0]


# --- provers: which ranges a proof lists -----------------------------------------------------
#
# A proof is the roots of some leaf ranges, in the RFC's order, and which ranges depends only
# on the sizes: the recursions PATH and SUBPROOF (RFC 9162 §2.1.3.1, §2.1.4.1) walked from the
# top, each step keeping the sibling it passes.


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The ranges whose roots are PATH(index, D[0:size]), from the leaf up.

    Raises :class:`ValueError` unless ``0 <= index < size``.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    siblings = []
    start, end = 0, size
    while end - start > 1:
        mid = start + _split(end - start)
        if index < mid:
            siblings.append((mid, end))
            end = mid
        else:
            siblings.append((start, mid))
            start = mid
    return siblings[::-1]


def consistency_ranges(old_size: int, size: int) -> list[tuple[int, int]]:
    """The ranges whose roots are PROOF(old_size, D[0:size]), from the old tree up.

    Empty when the sizes are equal (``0 -> 0`` included). Raises :class:`ValueError` unless
    ``0 <= old_size <= size``, and for ``0 -> n`` with ``n > 0``: no proof exists
    (:func:`verify_consistency` rejects that case, see the size-0 rule).
    """
    if not 0 <= old_size <= size:
        raise ValueError(f"old size {old_size} is outside 0..{size}")
    if old_size == size:
        return []
    if old_size == 0:
        raise ValueError(f"no consistency proof from the empty tree (to size {size}) exists")
    ranges = []
    start, end, complete = 0, size, True
    # SUBPROOF(m, D[start:end], b) with m = old_size - start: ``complete`` is the RFC's b, true
    # while the range starts at leaf 0, so that its old part is the whole old tree, whose root
    # the verifier already has.
    while old_size != end:
        mid = start + _split(end - start)
        if old_size <= mid:
            ranges.append((mid, end))
            end = mid
        else:
            ranges.append((start, mid))
            start, complete = mid, False
    if not complete:
        ranges.append((start, end))
    return ranges[::-1]


def inclusion_proof_from(nodes: Nodes, index: int, size: int) -> list[bytes]:
    """The inclusion proof (audit path) of leaf ``index`` in the tree of ``size``."""
    return range_roots(inclusion_ranges(index, size), nodes)


def consistency_proof_from(nodes: Nodes, old_size: int, size: int) -> list[bytes]:
    """The proof that the tree of ``old_size`` is a prefix of the tree of ``size``."""
    return range_roots(consistency_ranges(old_size, size), nodes)


def nodes_of(leaf_hashes: Sequence[bytes]) -> Nodes:
    """The nodes the writer makes from ``leaf_hashes``; raises :class:`ValueError` if a leaf
    hash is not 32 bytes."""
    tree, kept = CompactRange(), {}
    for leaf in leaf_hashes:
        for level, index, node in tree.append(leaf):
            kept[level, index] = node
    return lambda wanted: {node: kept[node] for node in wanted}


def root_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return the Merkle tree hash of the given leaf hashes; ``SHA-256(b"")`` when empty.

    Raises :class:`ValueError` if a leaf hash is not 32 bytes.
    """
    return root_at(len(leaf_hashes), nodes_of(leaf_hashes))


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """Return the inclusion proof (audit path) of leaf ``index`` in the tree of ``leaf_hashes``.

    Precondition ``0 <= index < len(leaf_hashes)``, else :class:`ValueError`; also raised if
    a leaf hash is not 32 bytes.
    """
    size = len(leaf_hashes)
    ranges = inclusion_ranges(index, size)
    return range_roots(ranges, nodes_of(leaf_hashes))


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """Return the proof that the first ``old_size`` leaves are a prefix of ``leaf_hashes``.

    The proof is from ``old_size`` to ``len(leaf_hashes)``; it is empty when the two sizes
    are equal (including ``0 -> 0``). Raises :class:`ValueError` unless
    ``0 <= old_size <= len(leaf_hashes)``, for ``0 -> n`` with ``n > 0`` (no proof exists:
    :func:`verify_consistency` rejects that case, see the size-0 rule), and if a leaf hash
    is not 32 bytes.
    """
    ranges = consistency_ranges(old_size, len(leaf_hashes))
    return range_roots(ranges, nodes_of(leaf_hashes))


class CompactRange:
    """The right edge of a growing tree: the roots of its perfect subtrees at the current size.

    ``append`` returns the nodes the new leaf completes, which a store persists; ``root`` is
    the tree hash at the current size. O(log n) memory whatever the size.
    """

    def __init__(self, size: int = 0, roots: Sequence[bytes] = ()) -> None:
        if len(roots) != size.bit_count():
            raise ValueError(f"a range of size {size} has {size.bit_count()} subtrees")
        self.size = size
        self._roots = list(roots)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash; return the (level, index, hash) nodes it completes, leaf included."""
        if len(leaf) != _HASH_SIZE:
            # A one-leaf tree's root *is* the leaf hash, so nothing downstream would catch it.
            raise ValueError(f"leaf hash {self.size} is {len(leaf)} bytes, expected {_HASH_SIZE}")
        return self.append_subtree(0, leaf)

    def append_subtree(self, height: int, root: bytes) -> list[tuple[int, int, bytes]]:
        """Add a perfect subtree of ``2**height`` leaves by its root, the size being a multiple
        of that (so the subtree sits where its leaves would); return the nodes it completes,
        its root included (the nodes inside it are the caller's)."""
        if self.size % (1 << height):
            raise ValueError(f"a subtree of height {height} cannot start at leaf {self.size}")
        index, level, node = self.size >> height, height, root
        created = [(level, index, node)]
        while index & 1:
            node = node_hash(self._roots.pop(), node)
            index >>= 1
            level += 1
            created.append((level, index, node))
        self._roots.append(node)
        self.size += 1 << height
        return created

    @property
    def roots(self) -> tuple[bytes, ...]:
        """The perfect subtrees' roots, the leftmost (largest) first."""
        return tuple(self._roots)

    def root(self) -> bytes:
        return fold_subtrees(self._roots)


# --- verifiers: RFC 9162 §2.1.3.2 and §2.1.4.2 --------------------------------------------


def _check_hash(what: str, value: bytes) -> None:
    if len(value) != _HASH_SIZE:
        raise ProofError("bad-hash-length", f"{what} is {len(value)} bytes, expected {_HASH_SIZE}")


def _check_proof_hashes(proof: Sequence[bytes]) -> None:
    for i, element in enumerate(proof):
        _check_hash(f"proof[{i}]", element)


def _check_match(reason: str, what: str, computed: bytes, supplied: bytes) -> None:
    if computed != supplied:
        raise ProofError(
            reason,
            f"{what} mismatch: got {supplied.hex()}, but the proof gives {computed.hex()}",
        )


def _inclusion_proof_size(index: int, size: int) -> int:
    # The path to `index` shares its top with the path to the last leaf: below the point
    # where they diverge every level has a sibling (`inner`); above it, on the right border,
    # only levels where the node is a right child do (`border`). The RFC loop consumes as many.
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def _consistency_proof_size(old_size: int, new_size: int) -> int:
    # Suffix of the inclusion proof of leaf old_size-1 above the old tree's largest complete
    # right subtree (2**shift leaves), plus that subtree's root unless it is the whole old tree.
    inner = ((old_size - 1) ^ (new_size - 1)).bit_length()
    border = ((old_size - 1) >> inner).bit_count()
    shift = (old_size & -old_size).bit_length() - 1
    seed = 0 if old_size == 1 << shift else 1
    return seed + (inner - shift) + border


def root_from_inclusion_proof(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """Return the tree root implied by ``proof`` for ``leaf_hash`` at ``index`` of ``size``.

    Preconditions: ``0 <= index < size``; ``leaf_hash`` and every proof element 32 bytes;
    ``len(proof)`` the one length ``(index, size)`` allows. Raises :class:`ProofError` with
    reason ``index-out-of-range``, ``bad-hash-length`` or ``wrong-proof-size`` otherwise.
    The result is only meaningful once compared with a trusted root (:func:`verify_inclusion`).
    """
    if not 0 <= index < size:
        raise ProofError(
            "index-out-of-range",
            f"leaf index {index} is outside a tree of size {size} (expected 0 <= index < {size})",
        )
    _check_hash("leaf hash", leaf_hash)
    _check_proof_hashes(proof)
    expected = _inclusion_proof_size(index, size)
    if len(proof) != expected:
        raise ProofError(
            "wrong-proof-size",
            f"inclusion proof for index {index} in a tree of size {size} has {len(proof)} "
            f"hashes, expected {expected}",
        )

    # RFC 9162 §2.1.3.2, steps 2-5. fn walks up from the leaf, sn from the last leaf; once
    # sn hits 0 we are at the root.
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        # The RFC's own guards; unreachable after the exact length check, kept so the loop
        # stays safe if that check is ever changed.
        if sn == 0:
            raise ProofError("wrong-proof-size", "inclusion proof is longer than the tree")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            # On the right border a node with no right sibling is promoted unchanged.
            while fn != 0 and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("wrong-proof-size", "inclusion proof is shorter than the tree")
    return r


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` with ``root``.

    Returns ``None`` on success. Raises :class:`ProofError` with reason
    ``index-out-of-range`` (``index`` not in ``[0, size)``), ``bad-hash-length`` (leaf hash,
    root or a proof element not 32 bytes), ``wrong-proof-size`` or ``root-mismatch``.
    The proof does not bind ``size`` by itself: ``size`` must come from the same signed
    checkpoint as ``root``.
    """
    _check_hash("root", root)
    computed = root_from_inclusion_proof(leaf_hash, index, size, proof)
    _check_match("root-mismatch", "root", computed, root)


def roots_from_consistency_proof(
    old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes
) -> tuple[bytes, bytes]:
    """Return the ``(old_root, new_root)`` pair implied by a consistency proof.

    ``old_root`` is an input because RFC 9162 omits it from the proof when ``old_size`` is a
    power of two (the verifier supplies it as the starting hash); the returned old root must
    still be compared with it, as :func:`verify_consistency` does.

    Preconditions: ``0 <= old_size <= new_size``; ``old_size > 0`` unless both are 0;
    ``old_root`` and every proof element 32 bytes (except when ``old_size == new_size > 0``,
    where nothing is hashed); ``len(proof)`` the one length the sizes allow (0 when equal).
    Raises :class:`ProofError` with reason ``negative-size``, ``old-size-exceeds-new-size``,
    ``size-zero``, ``bad-hash-length`` or ``wrong-proof-size`` otherwise.

    For equal sizes the pair is ``(SHA-256(b""), SHA-256(b""))`` at size 0 (the only size-0
    root) and ``(old_root, old_root)`` otherwise.
    """
    if old_size < 0 or new_size < 0:
        raise ProofError(
            "negative-size", f"tree sizes must be >= 0, got old {old_size} and new {new_size}"
        )
    if old_size > new_size:
        raise ProofError(
            "old-size-exceeds-new-size",
            f"old size {old_size} is larger than new size {new_size} (expected old <= new)",
        )
    if old_size == new_size:
        if proof:
            raise ProofError(
                "wrong-proof-size",
                f"sizes are equal ({old_size}) so the proof must be empty, got {len(proof)} hashes",
            )
        if old_size == 0:
            return _EMPTY_ROOT, _EMPTY_ROOT
        return old_root, old_root
    if old_size == 0:
        raise ProofError(
            "size-zero",
            f"consistency from the empty tree to size {new_size} cannot be proven; "
            "adopt the first checkpoint on its signature instead",
        )
    _check_hash("old root", old_root)
    _check_proof_hashes(proof)
    expected = _consistency_proof_size(old_size, new_size)
    # Also covers RFC step 1 ("empty proof fails"): expected is at least 1 here.
    if len(proof) != expected:
        raise ProofError(
            "wrong-proof-size",
            f"consistency proof from size {old_size} to {new_size} has {len(proof)} hashes, "
            f"expected {expected}",
        )

    # RFC 9162 §2.1.4.2, steps 2-7.
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        # The old tree is one complete subtree, which the proof leaves out as known.
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    # Skip the levels inside the old tree's last complete subtree; path[0] is its root.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        # Unreachable after the exact length check; kept as the RFC's own guard.
        if sn == 0:
            raise ProofError("wrong-proof-size", "consistency proof is longer than the tree")
        if fn & 1 or fn == sn:
            # A left sibling belongs to both trees.
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn != 0 and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            # A right sibling exists only in the new tree.
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("wrong-proof-size", "consistency proof is shorter than the tree")
    return fr, sr


def verify_consistency(
    old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> None:
    """Check that the tree ``(old_size, old_root)`` is a prefix of ``(new_size, new_root)``.

    Returns ``None`` on success. Preconditions and the reasons raised are those of
    :func:`roots_from_consistency_proof` (see the size-0 rule in the module docstring), plus
    ``bad-hash-length`` for ``new_root`` (unless ``old_size == new_size > 0``),
    ``old-root-mismatch`` and ``root-mismatch`` (the new root) as :class:`ProofError`.
    Equal sizes need an empty proof and equal roots.
    """
    computed_old, computed_new = roots_from_consistency_proof(old_size, new_size, proof, old_root)
    if 0 < old_size == new_size:
        # Nothing was hashed: the roots are compared as opaque strings (see the size-0 rule).
        if old_root != new_root:
            raise ProofError(
                "root-mismatch",
                f"sizes are equal ({old_size}) so the roots must be equal, "
                f"got old {old_root.hex()} and new {new_root.hex()}",
            )
        return
    _check_hash("old root", old_root)
    _check_hash("new root", new_root)
    # For 0 -> 0 the computed pair is the empty-tree root, so this also enforces that rule.
    _check_match("old-root-mismatch", "old root", computed_old, old_root)
    _check_match("root-mismatch", "new root", computed_new, new_root)
