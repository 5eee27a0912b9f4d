"""RFC 6962 / RFC 9162 Merkle trees: tree hashes, inclusion and consistency proofs.

Pure and deterministic: no I/O, only :mod:`hashlib`. Every hash is 32 bytes of SHA-256.

Hash rules (RFC 9162 §2.1.1)::

    MTH({})      = SHA-256(b"")
    leaf hash    = SHA-256(0x00 || entry)
    node hash    = SHA-256(0x01 || left || right)
    MTH(D[n])    = node hash(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two < n

Proofs are lists of 32-byte hashes in the RFC order (from the leaf / old subtree upwards).
The provers (:func:`inclusion_proof`, :func:`consistency_proof`, :func:`root_hash`) follow the
RFC's recursive definitions PATH, SUBPROOF and MTH; the verifiers follow the loops of RFC 9162
§2.1.3.2 (inclusion) and §2.1.4.2 (consistency) step by step. As in transparency-dev/merkle,
each verifier is split into a "compute" half (:func:`root_from_inclusion_proof`,
:func:`roots_from_consistency_proof`) and a ``verify_*`` half that compares against the
supplied roots.

Subtree proofs (draft-ietf-plants-merkle-tree-certs, "Subtrees"; transparency-dev/merkle's
VerifySubtreeInclusion / VerifySubtreeConsistency) generalise both to a subtree
``[start, end)``, the Merkle tree MTH(D[start:end]) of an aligned leaf range:
:func:`subtree_inclusion_proof` / :func:`verify_subtree_inclusion` prove a leaf is in the
subtree, :func:`subtree_consistency_proof` / :func:`verify_subtree_consistency` prove the
subtree is part of the whole tree (``[0, m)`` is the RFC consistency case). They are at the
end of this module, with their rules.

Verifiers return ``None`` or raise :class:`ProofError`, whose ``reason`` is one of:

- ``index-out-of-range``: inclusion, ``index`` is not in ``[0, size)`` (so any size-0 tree),
  or for a subtree not in ``[start, end)``;
- ``negative-size``: consistency, a tree size is negative;
- ``old-size-exceeds-new-size``: consistency, ``old_size > new_size``;
- ``size-zero``: consistency, ``old_size == 0 < new_size`` (see the size-0 rule below);
- ``invalid-subtree``: subtree proofs, ``[start, end)`` is not a subtree (not
  ``0 <= start <= end``, or ``start`` not a multiple of ``BIT_CEIL(end - start)``);
- ``end-exceeds-size``: subtree consistency, ``end > size``;
- ``bad-hash-length``: a leaf hash, proof element or root that is checked is not 32 bytes;
- ``wrong-proof-size``: the proof does not have the one length the sizes allow;
- ``root-mismatch``: the root computed from the proof differs from the (new) root supplied;
- ``old-root-mismatch``: consistency, the old root computed differs from the one supplied;
- ``subtree-root-mismatch``: subtree proofs, the subtree root computed differs from the one
  supplied.

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
from collections.abc import Callable, Sequence
from typing import Final

__all__ = [
    "CompactRange",
    "ProofError",
    "consistency_proof",
    "consistency_proof_from",
    "fold_subtrees",
    "inclusion_proof",
    "inclusion_proof_from",
    "leaf_hash",
    "node_hash",
    "perfect_subtrees",
    "root_from_inclusion_proof",
    "root_from_subtree_inclusion_proof",
    "root_hash",
    "roots_from_consistency_proof",
    "roots_from_subtree_consistency_proof",
    "subtree_consistency_proof",
    "subtree_inclusion_proof",
    "subtree_levels",
    "verify_consistency",
    "verify_inclusion",
    "verify_subtree_consistency",
    "verify_subtree_inclusion",
]

_HASH_SIZE: Final = 32
_EMPTY_ROOT: Final = hashlib.sha256(b"").digest()
_LEAF_PREFIX: Final = b"\x00"
_NODE_PREFIX: Final = b"\x01"

# Answers "MTH of leaves [start, end)". The provers only ever ask through this, so a store
# holding complete-subtree hashes can serve the same decomposition without the leaves.
_SubtreeRoot = Callable[[int, int], bytes]


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


# --- provers: the RFC's recursive definitions over leaf ranges ------------------------------


def _subtree_root(leaf_hashes: Sequence[bytes], start: int, end: int) -> bytes:
    """MTH of ``leaf_hashes[start:end]`` without slicing (RFC 9162 §2.1.1)."""
    n = end - start
    if n == 0:
        return _EMPTY_ROOT
    if n == 1:
        leaf = leaf_hashes[start]
        # A one-leaf tree's root *is* the leaf hash, so nothing downstream would catch it.
        if len(leaf) != _HASH_SIZE:
            raise ValueError(f"leaf hash {start} is {len(leaf)} bytes, expected {_HASH_SIZE}")
        return leaf
    k = _split(n)
    return node_hash(
        _subtree_root(leaf_hashes, start, start + k), _subtree_root(leaf_hashes, start + k, end)
    )


def _inclusion_path(subtree_root: _SubtreeRoot, index: int, start: int, end: int) -> list[bytes]:
    """PATH(index, D[start:end]) (RFC 9162 §2.1.3.1); ``index`` is relative to ``start``."""
    n = end - start
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return [
            *_inclusion_path(subtree_root, index, start, start + k),
            subtree_root(start + k, end),
        ]
    return [
        *_inclusion_path(subtree_root, index - k, start + k, end),
        subtree_root(start, start + k),
    ]


def _consistency_subproof(
    subtree_root: _SubtreeRoot, old_size: int, start: int, end: int, complete: bool
) -> list[bytes]:
    """SUBPROOF(old_size, D[start:end], complete) (RFC 9162 §2.1.4.1), ``0 < old_size``.

    ``complete`` is the RFC's ``b``: true while the range starts at leaf 0, so that its old
    part is the whole old tree, whose root the verifier already has.
    """
    n = end - start
    if old_size == n:
        return [] if complete else [subtree_root(start, end)]
    k = _split(n)
    if old_size <= k:
        return [
            *_consistency_subproof(subtree_root, old_size, start, start + k, complete),
            subtree_root(start + k, end),
        ]
    return [
        *_consistency_subproof(subtree_root, old_size - k, start + k, end, False),
        subtree_root(start, start + k),
    ]


def root_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return the Merkle tree hash of the given leaf hashes; ``SHA-256(b"")`` when empty.

    Raises :class:`ValueError` if a leaf hash is not 32 bytes.
    """
    return _subtree_root(leaf_hashes, 0, len(leaf_hashes))


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """Return the inclusion proof (audit path) of leaf ``index`` in the tree of ``leaf_hashes``.

    Precondition ``0 <= index < len(leaf_hashes)``, else :class:`ValueError`; also raised if
    a leaf hash the proof depends on is not 32 bytes.
    """
    size = len(leaf_hashes)
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    return _inclusion_path(lambda s, e: _subtree_root(leaf_hashes, s, e), index, 0, size)


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """Return the proof that the first ``old_size`` leaves are a prefix of ``leaf_hashes``.

    The proof is from ``old_size`` to ``len(leaf_hashes)``; it is empty when the two sizes
    are equal (including ``0 -> 0``). Raises :class:`ValueError` unless
    ``0 <= old_size <= len(leaf_hashes)``, for ``0 -> n`` with ``n > 0`` (no proof exists:
    :func:`verify_consistency` rejects that case, see the size-0 rule), and if a leaf hash
    the proof depends on is not 32 bytes.
    """
    size = len(leaf_hashes)
    if not 0 <= old_size <= size:
        raise ValueError(f"old size {old_size} is outside 0..{size}")
    if old_size == size:
        return []
    if old_size == 0:
        raise ValueError(f"no consistency proof from the empty tree (to size {size}) exists")
    return _consistency_subproof(
        lambda s, e: _subtree_root(leaf_hashes, s, e), old_size, 0, size, True
    )


# --- the same provers over stored complete subtrees ------------------------------------------
#
# A store keeps, for every complete ("perfect") subtree, its root: node (level, index) covers
# leaves [index * 2**level, (index + 1) * 2**level). Any range the RFC recursion asks for is a
# run of such subtrees, so roots and proofs cost O(log n) node reads, never a rebuild.


def perfect_subtrees(start: int, end: int) -> list[tuple[int, int]]:
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


def inclusion_proof_from(subtree_root: _SubtreeRoot, index: int, size: int) -> list[bytes]:
    """:func:`inclusion_proof` with subtree roots served by ``subtree_root(start, end)``."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    return _inclusion_path(subtree_root, index, 0, size)


def consistency_proof_from(subtree_root: _SubtreeRoot, old_size: int, size: int) -> list[bytes]:
    """:func:`consistency_proof` with subtree roots served by ``subtree_root(start, end)``."""
    if not 0 <= old_size <= size:
        raise ValueError(f"old size {old_size} is outside 0..{size}")
    if old_size == size:
        return []
    if old_size == 0:
        raise ValueError(f"no consistency proof from the empty tree (to size {size}) exists")
    return _consistency_subproof(subtree_root, old_size, 0, size, True)


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


# --- subtree proofs: draft-ietf-plants-merkle-tree-certs §"Subtrees" ---------------------
#
# A subtree [start, end) of a tree D_n is MTH(D[start:end]), a Merkle tree in its own right,
# where 0 <= start <= end <= n and start is a multiple of BIT_CEIL(end - start). The
# alignment rule makes its root either a node of the larger tree or (on the right edge of a
# smaller version of it) rebuildable from such nodes, which is what lets a subtree be proven
# consistent with the whole tree. [x, x) is a valid, empty subtree; [0, x) is always valid.


def _bit_ceil(n: int) -> int:
    """Smallest power of two ``>= n`` (``BIT_CEIL``; 1 for ``n <= 1``)."""
    return 1 if n <= 1 else 1 << (n - 1).bit_length()


def _is_valid_subtree(start: int, end: int) -> bool:
    return 0 <= start <= end and start % _bit_ceil(end - start) == 0


def _check_subtree(start: int, end: int) -> None:
    if not _is_valid_subtree(start, end):
        raise ProofError(
            "invalid-subtree",
            f"[{start}, {end}) is not a subtree: expected 0 <= start <= end and start a "
            f"multiple of BIT_CEIL(end - start) = {_bit_ceil(end - start)}",
        )


def _require_subtree(start: int, end: int, size: int) -> None:
    """The provers' precondition, as :class:`ValueError`."""
    if not _is_valid_subtree(start, end):
        raise ValueError(
            f"[{start}, {end}) is not a subtree (start must be a multiple of "
            f"BIT_CEIL(end - start) and 0 <= start <= end)"
        )
    if end > size:
        raise ValueError(f"subtree [{start}, {end}) ends beyond a tree of size {size}")


def _subtree_subproof(
    subtree_root: _SubtreeRoot, start: int, end: int, lo: int, hi: int, complete: bool
) -> list[bytes]:
    """SUBTREE_SUBPROOF(start, end, D[lo:hi], complete) in absolute leaf positions.

    Requires ``lo <= start < end <= hi`` with ``[start, end)`` a valid subtree. ``complete``
    is the draft's ``b``: true while the subtree's own root is still a node of the tree, so
    the verifier (who holds that root) needs no hash for it.
    """
    if start == lo and end == hi:
        return [] if complete else [subtree_root(lo, hi)]
    mid = lo + _split(hi - lo)
    if end <= mid:
        return [
            *_subtree_subproof(subtree_root, start, end, lo, mid, complete),
            subtree_root(mid, hi),
        ]
    if mid <= start:
        return [
            *_subtree_subproof(subtree_root, start, end, mid, hi, complete),
            subtree_root(lo, mid),
        ]
    # start < mid < end: a valid subtree straddling the split starts at lo (the draft's
    # third case); its part right of mid is not a node of the tree, so its root is sent.
    return [*_subtree_subproof(subtree_root, mid, end, mid, hi, False), subtree_root(lo, mid)]


def subtree_inclusion_proof(
    leaf_hashes: Sequence[bytes], index: int, start: int, end: int
) -> list[bytes]:
    """Return the inclusion proof of leaf ``index`` in the subtree ``[start, end)``.

    ``leaf_hashes`` are the leaves of the whole tree (``len(leaf_hashes) >= end``). The proof
    is PATH(index - start, D[start:end]) (RFC 9162 §2.1.3.1 over the subtree's own leaves):
    it leads from the leaf to MTH(D[start:end]), not to the tree root.

    Preconditions: ``[start, end)`` a valid subtree, ``end <= len(leaf_hashes)`` and
    ``start <= index < end``, else :class:`ValueError`; also raised if a leaf hash the proof
    depends on is not 32 bytes.
    """
    _require_subtree(start, end, len(leaf_hashes))
    if not start <= index < end:
        raise ValueError(f"leaf index {index} is outside the subtree [{start}, {end})")
    return _inclusion_path(lambda s, e: _subtree_root(leaf_hashes, s, e), index - start, start, end)


def subtree_consistency_proof(leaf_hashes: Sequence[bytes], start: int, end: int) -> list[bytes]:
    """Return SUBTREE_PROOF(start, end, D_n): subtree ``[start, end)`` is part of ``leaf_hashes``.

    ``n = len(leaf_hashes)``. The proof is empty for an empty subtree (``start == end``) and
    for the whole tree (``[0, n)``). ``[0, m)`` gives the RFC 9162 consistency proof from
    ``m`` to ``n`` and ``[i, i + 1)`` the inclusion proof of leaf ``i``.

    Preconditions: ``[start, end)`` a valid subtree and ``end <= n``, else
    :class:`ValueError`; also raised if a leaf hash the proof depends on is not 32 bytes.
    Unlike :func:`consistency_proof`, ``[0, 0)`` of a non-empty tree is allowed (empty proof).
    """
    size = len(leaf_hashes)
    _require_subtree(start, end, size)
    if start == end:
        return []
    return _subtree_subproof(
        lambda s, e: _subtree_root(leaf_hashes, s, e), start, end, 0, size, True
    )


def root_from_subtree_inclusion_proof(
    leaf_hash: bytes, index: int, start: int, end: int, proof: Sequence[bytes]
) -> bytes:
    """Return the subtree root implied by ``proof`` for ``leaf_hash`` at ``index``.

    This evaluates a subtree inclusion proof (draft "Evaluating a Subtree Inclusion Proof"):
    the RFC 9162 §2.1.3.2 loop with leaf index ``index - start`` in a tree of
    ``end - start`` leaves.

    Preconditions: ``[start, end)`` a valid subtree; ``start <= index < end`` (so the subtree
    is not empty); ``leaf_hash`` and every proof element 32 bytes; ``len(proof)`` the one
    length the positions allow. Raises :class:`ProofError` with reason ``invalid-subtree``,
    ``index-out-of-range``, ``bad-hash-length`` or ``wrong-proof-size`` otherwise. The result
    is only meaningful once compared with a trusted subtree root
    (:func:`verify_subtree_inclusion`).
    """
    _check_subtree(start, end)
    if not start <= index < end:
        raise ProofError(
            "index-out-of-range",
            f"leaf index {index} is outside the subtree [{start}, {end}) "
            f"(expected {start} <= index < {end})",
        )
    _check_hash("leaf hash", leaf_hash)
    _check_proof_hashes(proof)
    expected = _inclusion_proof_size(index - start, end - start)
    if len(proof) != expected:
        raise ProofError(
            "wrong-proof-size",
            f"inclusion proof for index {index} in the subtree [{start}, {end}) has "
            f"{len(proof)} hashes, expected {expected}",
        )
    # The subtree is a Merkle tree of its own whose leaf 0 is leaf `start`.
    return root_from_inclusion_proof(leaf_hash, index - start, end - start, proof)


def verify_subtree_inclusion(
    leaf_hash: bytes,
    index: int,
    start: int,
    end: int,
    proof: Sequence[bytes],
    subtree_root: bytes,
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the subtree ``[start, end)``.

    ``subtree_root`` is MTH(D[start:end]), e.g. from a signed subtree. Returns ``None`` on
    success. Raises :class:`ProofError` with reason ``invalid-subtree``,
    ``index-out-of-range`` (``index`` not in ``[start, end)``, so any empty subtree),
    ``bad-hash-length`` (leaf hash, subtree root or a proof element not 32 bytes),
    ``wrong-proof-size`` or ``subtree-root-mismatch``.
    """
    _check_hash("subtree root", subtree_root)
    computed = root_from_subtree_inclusion_proof(leaf_hash, index, start, end, proof)
    _check_match("subtree-root-mismatch", "subtree root", computed, subtree_root)


def _subtree_consistency_start(start: int, end: int, size: int) -> tuple[int, int, int]:
    """Steps 3-5 of the draft's verification: the (fn, sn, tn) the proof starts from.

    fn and sn are the subtree's first and last leaf, tn the tree's last leaf, all shifted up
    past the levels that need no proof hash: all the way to the subtree root when the
    subtree ends at the tree's right edge, otherwise only while sn is a right child.
    """
    fn, sn, tn = start, end - 1, size - 1
    if sn == tn:
        while fn != sn:
            fn, sn, tn = fn >> 1, sn >> 1, tn >> 1
    else:
        while fn != sn and sn & 1:
            fn, sn, tn = fn >> 1, sn >> 1, tn >> 1
    return fn, sn, tn


def _subtree_consistency_proof_size(start: int, end: int, size: int) -> int:
    # From (fn, sn, tn) on the loop is RFC 9162's inclusion loop for node sn in a tree whose
    # last node is tn, so it takes that many hashes; plus the seed hash unless the proof
    # starts at the subtree's own root (fn == sn), which the verifier already has.
    fn, sn, tn = _subtree_consistency_start(start, end, size)
    return (0 if fn == sn else 1) + _inclusion_proof_size(sn, tn + 1)


def roots_from_subtree_consistency_proof(
    start: int, end: int, size: int, proof: Sequence[bytes], subtree_root: bytes
) -> tuple[bytes, bytes | None]:
    """Return the ``(subtree_root, root)`` pair implied by a subtree consistency proof.

    Follows the draft's "Verifying a Subtree Consistency Proof" steps 1-8 for subtree
    ``[start, end)`` of a tree of ``size`` leaves. ``subtree_root`` is an input because the
    proof omits it when it is a node of the tree (the verifier supplies it as the seed); the
    returned subtree root must still be compared with it (:func:`verify_subtree_consistency`).

    Preconditions: ``[start, end)`` a valid subtree with ``end <= size``; ``subtree_root``
    and every proof element 32 bytes (except for the empty subtree and for ``[0, size)``,
    where nothing is hashed); ``len(proof)`` the one length the positions allow (0 for the
    empty subtree and for ``[0, size)``). Raises :class:`ProofError` with reason
    ``invalid-subtree``, ``end-exceeds-size``, ``bad-hash-length`` or ``wrong-proof-size``
    otherwise.

    Special cases: the empty subtree gives ``(SHA-256(b""), None)``, ``None`` because an
    empty subtree is consistent with every tree, so the proof implies no root; ``[0, size)``
    gives ``(subtree_root, subtree_root)``.
    """
    _check_subtree(start, end)
    if end > size:
        raise ProofError(
            "end-exceeds-size",
            f"subtree [{start}, {end}) ends beyond a tree of size {size} (expected end <= size)",
        )
    if start == end or (start == 0 and end == size):
        # Draft step 2 (empty subtree) and the whole-tree case: nothing to hash.
        if proof:
            raise ProofError(
                "wrong-proof-size",
                f"the proof for subtree [{start}, {end}) of a tree of size {size} must be "
                f"empty, got {len(proof)} hashes",
            )
        if start == end:
            return _EMPTY_ROOT, None
        return subtree_root, subtree_root
    _check_hash("subtree root", subtree_root)
    _check_proof_hashes(proof)
    expected = _subtree_consistency_proof_size(start, end, size)
    if len(proof) != expected:
        raise ProofError(
            "wrong-proof-size",
            f"consistency proof for subtree [{start}, {end}) of a tree of size {size} has "
            f"{len(proof)} hashes, expected {expected}",
        )

    # Draft steps 3-8. fr rebuilds the subtree root, sr the tree root, from a shared seed;
    # everything hashed into fr is also hashed into sr.
    fn, sn, tn = _subtree_consistency_start(start, end, size)
    path = list(proof)
    if fn == sn:
        fr = sr = subtree_root
    else:
        fr = sr = path.pop(0)
    for c in path:
        # Unreachable after the exact length check; kept as the draft's own guard.
        if tn == 0:
            raise ProofError("wrong-proof-size", "subtree consistency proof is too long")
        if sn & 1 or sn == tn:
            # A left sibling: inside the subtree while fn < sn, and always in the tree.
            if fn < sn:
                fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while sn != 0 and not sn & 1:
                fn, sn, tn = fn >> 1, sn >> 1, tn >> 1
        else:
            # A right sibling exists only in the tree.
            sr = node_hash(sr, c)
        fn, sn, tn = fn >> 1, sn >> 1, tn >> 1
    if tn != 0:
        raise ProofError("wrong-proof-size", "subtree consistency proof is too short")
    return fr, sr


def verify_subtree_consistency(
    start: int,
    end: int,
    size: int,
    proof: Sequence[bytes],
    subtree_root: bytes,
    root: bytes,
) -> None:
    """Check that subtree ``[start, end)`` with ``subtree_root`` is part of ``(size, root)``.

    Returns ``None`` on success. Preconditions and the reasons raised are those of
    :func:`roots_from_subtree_consistency_proof`, plus ``bad-hash-length`` for ``root``,
    ``subtree-root-mismatch`` and ``root-mismatch`` as :class:`ProofError`.

    Edge rules (as in the draft and transparency-dev/merkle):

    * empty subtree (``start == end <= size``): accepted iff the proof is empty and
      ``subtree_root == SHA-256(b"")``. ``root`` is **not checked at all**, not even its
      length: an empty subtree is consistent with every tree, so this says nothing about
      ``root``.
    * whole tree (``[0, size)``, ``size > 0``): an empty proof and ``subtree_root == root``,
      compared as opaque byte strings (nothing is hashed), as for equal sizes in
      :func:`verify_consistency`.
    """
    computed_sub, computed_root = roots_from_subtree_consistency_proof(
        start, end, size, proof, subtree_root
    )
    if computed_root is None:
        # Empty subtree: the one thing to check is that its root is the empty-tree root.
        _check_hash("subtree root", subtree_root)
        _check_match("subtree-root-mismatch", "subtree root", computed_sub, subtree_root)
        return
    if start == 0 and end == size:
        if subtree_root != root:
            raise ProofError(
                "root-mismatch",
                f"subtree [0, {size}) is the whole tree so the roots must be equal, "
                f"got subtree root {subtree_root.hex()} and root {root.hex()}",
            )
        return
    _check_hash("subtree root", subtree_root)
    _check_hash("root", root)
    _check_match("subtree-root-mismatch", "subtree root", computed_sub, subtree_root)
    _check_match("root-mismatch", "root", computed_root, root)
