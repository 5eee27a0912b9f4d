"""Tests for ``ledger.merkle``.

1. Every JSON vector of transparency-dev/merkle under ``../shared/vectors`` (one test id per
   file, subtree folders included); valid ones must verify, invalid ones must raise
   ``ProofError``. A missing vector folder fails this module at collection, it is never
   skipped.
2. A naive, literal transcription of RFC 9162's MTH / PATH / PROOF / SUBPROOF, cross-checked
   against the module for every tree size 0..70, every leaf index and every old size.
3. Prove-then-verify round trips and mutations (bit flips, dropped / added / swapped
   elements, wrong index, wrong sizes, wrong roots), exhaustive for small trees and with
   hypothesis for larger ones.
4. (Section 6.) Subtree proofs (Merkle Tree Certificates draft): provers against a literal
   transcription of the draft's SUBTREE_PROOF / PATH for every subtree of every tree up to
   40 leaves, verifiers against a naive reference verifier that rebuilds both roots from the
   hash ranges the draft's recursion names, and the same mutations as above.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import random
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shared import shared_dir

from ledger.tlog import merkle
from ledger.tlog.merkle import (
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
    root_from_subtree_inclusion_proof,
    root_hash,
    roots_from_consistency_proof,
    roots_from_subtree_consistency_proof,
    subtree_consistency_proof,
    subtree_inclusion_proof,
    verify_consistency,
    verify_inclusion,
    verify_subtree_consistency,
    verify_subtree_inclusion,
)

EMPTY_ROOT = hashlib.sha256(b"").digest()

KNOWN_REASONS = frozenset(
    {
        "index-out-of-range",
        "negative-size",
        "old-size-exceeds-new-size",
        "size-zero",
        "bad-hash-length",
        "wrong-proof-size",
        "root-mismatch",
        "old-root-mismatch",
        "invalid-subtree",
        "end-exceeds-size",
        "subtree-root-mismatch",
    }
)

# --------------------------------------------------------------------------------------------
# 1. transparency-dev vectors
# --------------------------------------------------------------------------------------------

VECTORS_DIR = shared_dir() / "vectors" / "rfc6962" / "transparency-dev" / "testdata"

# Every folder must be present and every file in it is run; an unknown folder fails.
CHECKED_FOLDERS = frozenset({"inclusion", "consistency", "subtreeinclusion", "subtreeconsistency"})


def _vector_files() -> list[Path]:
    """All vector files; fails (never skips) when the shared vectors are not there."""
    if not VECTORS_DIR.is_dir():
        pytest.fail(
            f"Merkle test vectors not found at {VECTORS_DIR}. They are expected in "
            "../shared/vectors beside the repository root, or in tests/fixtures/shared "
            "(transparency-dev/merkle testdata); restore it rather than skipping these tests.",
            pytrace=False,
        )
    files = sorted(VECTORS_DIR.rglob("*.json"))
    found = {path.relative_to(VECTORS_DIR).parts[0] for path in files}
    missing = CHECKED_FOLDERS - found
    if missing:
        pytest.fail(f"no vector files under {VECTORS_DIR} for {sorted(missing)}", pytrace=False)
    return files


VECTOR_FILES = _vector_files()


def _vector_params() -> list[Any]:
    return [
        pytest.param(path, id=path.relative_to(VECTORS_DIR).with_suffix("").as_posix())
        for path in VECTOR_FILES
    ]


def _b64(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


def _b64_list(values: list[str] | None) -> list[bytes]:
    # Go's encoding/json writes an empty proof as null.
    return [_b64(v) for v in values or []]


@pytest.mark.parametrize("path", _vector_params())
def test_vector(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    folder = path.relative_to(VECTORS_DIR).parts[0]
    want_err = data["wantErr"]
    assert isinstance(want_err, bool)

    check: Callable[[], None]
    if folder == "inclusion":
        leaf, index, size = _b64(data["leafHash"]), data["leafIdx"], data["treeSize"]
        proof, root = _b64_list(data["proof"]), _b64(data["root"])

        def check() -> None:
            verify_inclusion(leaf, index, size, proof, root)
            assert root_from_inclusion_proof(leaf, index, size, proof) == root

    elif folder == "consistency":
        size1, size2 = data["size1"], data["size2"]
        proof = _b64_list(data["proof"])
        root1, root2 = _b64(data["root1"]), _b64(data["root2"])

        def check() -> None:
            verify_consistency(size1, size2, proof, root1, root2)
            assert roots_from_consistency_proof(size1, size2, proof, root1) == (root1, root2)

    elif folder == "subtreeinclusion":
        leaf, index = _b64(data["leafHash"]), data["leafIdx"]
        start, end = data["start"], data["end"]
        proof, root = _b64_list(data["proof"]), _b64(data["root"])

        def check() -> None:
            verify_subtree_inclusion(leaf, index, start, end, proof, root)
            assert root_from_subtree_inclusion_proof(leaf, index, start, end, proof) == root

    elif folder == "subtreeconsistency":
        start, end, size = data["start"], data["end"], data["size"]
        proof = _b64_list(data["proof"])
        root1, root2 = _b64(data["root1"]), _b64(data["root2"])

        def check() -> None:
            verify_subtree_consistency(start, end, size, proof, root1, root2)
            # An empty subtree is consistent with every tree: it implies no root (None).
            implied = (root1, None if start == end else root2)
            assert roots_from_subtree_consistency_proof(start, end, size, proof, root1) == implied

    else:
        pytest.fail(f"unknown vector folder {folder!r}: decide whether ledger.merkle covers it")

    if want_err:
        with pytest.raises(ProofError) as excinfo:
            check()
        assert excinfo.value.reason in KNOWN_REASONS
        assert str(excinfo.value)
    else:
        check()


def test_vectors_cover_valid_and_invalid_cases() -> None:
    wanted = {
        (path.relative_to(VECTORS_DIR).parts[0], json.loads(path.read_text())["wantErr"])
        for path in VECTOR_FILES
    }
    for folder in CHECKED_FOLDERS:
        assert (folder, True) in wanted
        assert (folder, False) in wanted


# The entries of the RFC 6962 / transparency-dev reference tree the vectors were generated
# from (testdata roots 1..8 are MTH of its prefixes).
RFC6962_ENTRIES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]


def test_valid_subtree_vectors_are_what_the_provers_produce() -> None:
    """Every accepted subtree vector over the reference tree is exactly our prover's output.

    The shifted ("- subtree") inclusion vectors reuse the proof of [0, n) for
    [BIT_CEIL(n), BIT_CEIL(n) + n), so they are checked on the reference tree repeated twice.
    """
    leaves = [leaf_hash(e) for e in RFC6962_ENTRIES] * 2
    checked = 0
    for path in VECTOR_FILES:
        folder = path.relative_to(VECTORS_DIR).parts[0]
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["wantErr"] or folder not in {"subtreeinclusion", "subtreeconsistency"}:
            continue
        proof = _b64_list(data["proof"])
        start, end = data["start"], data["end"]
        if folder == "subtreeinclusion":
            if _b64(data["leafHash"]) != leaves[data["leafIdx"]]:
                continue  # the single-entry files use a leaf of their own
            assert subtree_inclusion_proof(leaves, data["leafIdx"], start, end) == proof
            assert root_hash(leaves[start:end]) == _b64(data["root"])
        else:
            if start == end or _b64(data["root1"]) != root_hash(leaves[start:end]):
                continue  # placeholder roots, or an empty subtree (any root is accepted)
            tree = leaves[: data["size"]]
            assert subtree_consistency_proof(tree, start, end) == proof
            assert root_hash(tree) == _b64(data["root2"])
        checked += 1
    assert checked >= 10


# --------------------------------------------------------------------------------------------
# 2. Literal RFC 9162 reference (§2.1.1 MTH, §2.1.3.1 PATH, §2.1.4.1 PROOF / SUBPROOF),
#    over entries rather than leaf hashes and using hashlib directly, so it shares no code
#    with the module under test.
# --------------------------------------------------------------------------------------------


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _ref_k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: Sequence[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return _sha256(b"")
    if n == 1:
        return _sha256(b"\x00" + d[0])
    k = _ref_k(n)
    return _sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:]))


def ref_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = _ref_k(n)
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = _ref_k(n)
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def ref_proof(m: int, d: Sequence[bytes]) -> list[bytes]:
    return ref_subproof(m, d, True)


MAX_EXHAUSTIVE_SIZE = 70
SIZES = range(MAX_EXHAUSTIVE_SIZE + 1)

# One fixed log; the tree of size n is its first n entries, so trees of different sizes are
# prefixes of each other as in a real append-only log. Entries vary in length, empty included.
_rng = random.Random(6962)
LOG = [_rng.randbytes(_rng.randrange(0, 48)) for _ in range(2 * MAX_EXHAUSTIVE_SIZE + 2)]
LEAVES = [leaf_hash(entry) for entry in LOG]
ROOTS = [ref_mth(LOG[:n]) for n in range(len(LOG) + 1)]


def test_hash_rules() -> None:
    assert leaf_hash(b"") == _sha256(b"\x00")
    assert leaf_hash(b"abc") == _sha256(b"\x00abc")
    left, right = _sha256(b"l"), _sha256(b"r")
    assert node_hash(left, right) == _sha256(b"\x01" + left + right)
    assert root_hash([]) == EMPTY_ROOT
    assert root_hash([left]) == left


@pytest.mark.parametrize("bad", [b"", b"\x00" * 31, b"\x00" * 33])
def test_hashing_rejects_non_32_byte_hashes(bad: bytes) -> None:
    good = _sha256(b"x")
    with pytest.raises(ValueError, match="32-byte"):
        node_hash(bad, good)
    with pytest.raises(ValueError, match="32-byte"):
        node_hash(good, bad)
    with pytest.raises(ValueError, match="expected 32"):
        root_hash([bad])
    with pytest.raises(ValueError, match="expected 32"):
        root_hash([good, good, bad])


@pytest.mark.parametrize("n", SIZES)
def test_root_hash_matches_reference(n: int) -> None:
    assert root_hash(LEAVES[:n]) == ROOTS[n] == ref_mth(LOG[:n])


@pytest.mark.parametrize("n", SIZES)
def test_inclusion_matches_reference_and_round_trips(n: int) -> None:
    leaves, root = LEAVES[:n], ROOTS[n]
    for index in range(n):
        proof = inclusion_proof(leaves, index)
        assert proof == ref_path(index, LOG[:n]), index
        assert all(len(h) == 32 for h in proof)
        assert root_from_inclusion_proof(leaves[index], index, n, proof) == root
        verify_inclusion(leaves[index], index, n, proof, root)


@pytest.mark.parametrize("n", SIZES)
def test_consistency_matches_reference_and_round_trips(n: int) -> None:
    leaves = LEAVES[:n]
    for old_size in range(1, n + 1):
        proof = consistency_proof(leaves, old_size)
        assert proof == ref_proof(old_size, LOG[:n]), old_size
        old_root, new_root = ROOTS[old_size], ROOTS[n]
        assert roots_from_consistency_proof(old_size, n, proof, old_root) == (old_root, new_root)
        verify_consistency(old_size, n, proof, old_root, new_root)


@pytest.mark.parametrize("n", SIZES)
def test_consistency_from_size_zero(n: int) -> None:
    if n == 0:
        assert consistency_proof([], 0) == []
        verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)
        return
    with pytest.raises(ValueError, match="empty tree"):
        consistency_proof(LEAVES[:n], 0)
    for proof in ([], [ROOTS[n]], inclusion_proof(LEAVES[:n], 0)):
        with pytest.raises(ProofError) as excinfo:
            verify_consistency(0, n, proof, EMPTY_ROOT, ROOTS[n])
        assert excinfo.value.reason == "size-zero"


def test_prover_preconditions() -> None:
    leaves = LEAVES[:5]
    for index in (-1, 5, 6):
        with pytest.raises(ValueError, match="outside"):
            inclusion_proof(leaves, index)
    with pytest.raises(ValueError, match="outside"):
        inclusion_proof([], 0)
    for old_size in (-1, 6):
        with pytest.raises(ValueError, match="outside"):
            consistency_proof(leaves, old_size)
    assert consistency_proof(leaves, 5) == []


# --------------------------------------------------------------------------------------------
# 3. Mutations: each must be rejected with a ProofError
# --------------------------------------------------------------------------------------------


def _flip(value: bytes, bit: int) -> bytes:
    out = bytearray(value)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def _proof_mutations(proof: list[bytes], stranger: bytes) -> Iterator[tuple[str, list[bytes]]]:
    for i, element in enumerate(proof):
        for bit in (0, 255, (37 * i + 11) % 256):
            yield f"flip bit {bit} of [{i}]", [*proof[:i], _flip(element, bit), *proof[i + 1 :]]
        yield f"drop [{i}]", [*proof[:i], *proof[i + 1 :]]
        yield f"truncate [{i}]", [*proof[:i], element[:-1], *proof[i + 1 :]]
        yield f"extend [{i}]", [*proof[:i], element + b"\x00", *proof[i + 1 :]]
        if i + 1 < len(proof) and proof[i] != proof[i + 1]:
            yield f"swap [{i}] and [{i + 1}]", [*proof[:i], proof[i + 1], element, *proof[i + 2 :]]
    yield "append", [*proof, stranger]
    yield "prepend", [stranger, *proof]
    if proof:
        yield "append copy", [*proof, proof[-1]]


def _rejected(verify: Callable[..., None], *args: Any) -> ProofError:
    """Call ``verify(*args)``, which must raise a ProofError with a known reason."""
    with pytest.raises(ProofError) as excinfo:
        verify(*args)
    assert excinfo.value.reason in KNOWN_REASONS
    return excinfo.value


STRANGER = _sha256(b"not in any tree")


@pytest.mark.parametrize("n", range(1, MAX_EXHAUSTIVE_SIZE + 1))
def test_inclusion_mutations_are_rejected(n: int) -> None:
    leaves, root = LEAVES[:n], ROOTS[n]
    for index in range(n):
        leaf, proof = leaves[index], inclusion_proof(leaves, index)

        for label, bad in _proof_mutations(proof, STRANGER):
            err = _rejected(verify_inclusion, leaf, index, n, bad, root)
            assert err.reason != "index-out-of-range", label

        # Wrong index, with the same leaf and with that index's own leaf.
        for wrong in {index - 1, index + 1, index ^ 1, index ^ 2, n, -1} - {index}:
            _rejected(verify_inclusion, leaf, wrong, n, proof, root)
            if 0 <= wrong < n:
                _rejected(verify_inclusion, leaves[wrong], wrong, n, proof, root)

        # Wrong size, each with the honest root of that size (see the limitation test below
        # for why the root has to change with the size).
        for wrong in {n - 1, n + 1, 2 * n, n // 2, 0} - {n}:
            _rejected(verify_inclusion, leaf, index, wrong, proof, ROOTS[wrong])

        # Wrong leaf, wrong root.
        _rejected(verify_inclusion, STRANGER, index, n, proof, root)
        _rejected(verify_inclusion, leaf, index, n, proof, STRANGER)
        _rejected(verify_inclusion, leaf, index, n, proof, ROOTS[n + 1])


@pytest.mark.parametrize("n", range(2, MAX_EXHAUSTIVE_SIZE + 1))
def test_consistency_mutations_are_rejected(n: int) -> None:
    leaves, new_root = LEAVES[:n], ROOTS[n]
    for m in range(1, n):
        old_root, proof = ROOTS[m], consistency_proof(leaves, m)
        assert proof, "a proof between different non-zero sizes is never empty"

        for label, bad in _proof_mutations(proof, STRANGER):
            err = _rejected(verify_consistency, m, n, bad, old_root, new_root)
            assert err.reason not in {"size-zero", "old-size-exceeds-new-size"}, label

        # Wrong sizes, each with the honest root of that size.
        for wrong in {m - 1, m + 1, 2 * m, 0}:
            _rejected(verify_consistency, wrong, n, proof, ROOTS[wrong], new_root)
        for wrong in {n - 1, n + 1, 2 * n, m, m - 1}:
            _rejected(verify_consistency, m, wrong, proof, old_root, ROOTS[wrong])

        # Wrong roots.
        _rejected(verify_consistency, m, n, proof, new_root, old_root)
        _rejected(verify_consistency, m, n, proof, old_root, old_root)
        _rejected(verify_consistency, m, n, proof, STRANGER, new_root)
        _rejected(verify_consistency, m, n, proof, old_root, STRANGER)
        _rejected(verify_consistency, m, n, proof, ROOTS[m - 1], new_root)
        _rejected(verify_consistency, m, n, proof, old_root, ROOTS[n + 1])
        # A tree whose first m leaves differ is not an extension of this one.
        forked = [*leaves[: m - 1], STRANGER, *leaves[m:]]
        _rejected(verify_consistency, m, n, proof, old_root, root_hash(forked))


def test_size_is_bound_by_the_checkpoint_not_by_the_proof() -> None:
    """Known RFC 9162 property, pinned so nobody relies on the opposite.

    A proof for size 3 also verifies against the *size-3 root* when a size of 4 is claimed,
    because both sizes lead to the same hashing steps. Sizes are therefore only meaningful
    together with their root, i.e. both must come from the same signed checkpoint.
    """
    leaves = LEAVES[:3]
    verify_inclusion(leaves[0], 0, 4, inclusion_proof(leaves, 0), ROOTS[3])
    verify_consistency(2, 4, consistency_proof(leaves, 2), ROOTS[2], ROOTS[3])
    # With the honest root for the claimed size the lie is caught.
    _rejected(verify_inclusion, leaves[0], 0, 4, inclusion_proof(leaves, 0), ROOTS[4])
    _rejected(verify_consistency, 2, 4, consistency_proof(leaves, 2), ROOTS[2], ROOTS[4])


# --------------------------------------------------------------------------------------------
# 4. Edge cases, the size-0 rule, reasons and messages
# --------------------------------------------------------------------------------------------

OTHER = _sha256(b"other")


@pytest.mark.parametrize(
    ("old_size", "new_size", "proof", "old_root", "new_root", "reason"),
    [
        # 0 -> 0: only the empty-tree root, only with an empty proof.
        (0, 0, [], EMPTY_ROOT, EMPTY_ROOT, None),
        (0, 0, [], OTHER, OTHER, "old-root-mismatch"),
        (0, 0, [], EMPTY_ROOT, OTHER, "root-mismatch"),
        (0, 0, [EMPTY_ROOT], EMPTY_ROOT, EMPTY_ROOT, "wrong-proof-size"),
        (0, 0, [], b"short", b"short", "bad-hash-length"),
        # 0 -> n: always rejected.
        (0, 1, [], EMPTY_ROOT, LEAVES[0], "size-zero"),
        (0, 1, [LEAVES[0]], EMPTY_ROOT, LEAVES[0], "size-zero"),
        # n -> n: empty proof and equal roots, compared opaquely.
        (3, 3, [], ROOTS[3], ROOTS[3], None),
        (1, 1, [], b"don't care 2", b"don't care 2", None),
        (3, 3, [], ROOTS[3], OTHER, "root-mismatch"),
        (3, 3, [OTHER], ROOTS[3], ROOTS[3], "wrong-proof-size"),
        # Bad sizes.
        (4, 3, [], ROOTS[4], ROOTS[3], "old-size-exceeds-new-size"),
        (-1, 3, [], EMPTY_ROOT, ROOTS[3], "negative-size"),
        (-2, -1, [], EMPTY_ROOT, EMPTY_ROOT, "negative-size"),
        # Hash lengths on the hashing path.
        (2, 3, [LEAVES[2]], ROOTS[2][:31], ROOTS[3], "bad-hash-length"),
        (2, 3, [LEAVES[2]], ROOTS[2], ROOTS[3] + b"\x00", "bad-hash-length"),
        (2, 3, [LEAVES[2][:16]], ROOTS[2], ROOTS[3], "bad-hash-length"),
        (2, 3, [], ROOTS[2], ROOTS[3], "wrong-proof-size"),
        (2, 3, [LEAVES[2]], ROOTS[2], ROOTS[3], None),
    ],
)
def test_consistency_rules(
    old_size: int,
    new_size: int,
    proof: list[bytes],
    old_root: bytes,
    new_root: bytes,
    reason: str | None,
) -> None:
    if reason is None:
        verify_consistency(old_size, new_size, proof, old_root, new_root)
    else:
        err = _rejected(verify_consistency, old_size, new_size, proof, old_root, new_root)
        assert err.reason == reason


@pytest.mark.parametrize(
    ("leaf", "index", "size", "proof", "root", "reason"),
    [
        (LEAVES[0], 0, 0, [], EMPTY_ROOT, "index-out-of-range"),
        (LEAVES[0], -1, 1, [], LEAVES[0], "index-out-of-range"),
        (LEAVES[0], 1, 1, [], LEAVES[0], "index-out-of-range"),
        (LEAVES[0], 0, -1, [], LEAVES[0], "index-out-of-range"),
        (LEAVES[0][:31], 0, 1, [], LEAVES[0], "bad-hash-length"),
        (LEAVES[0], 0, 1, [], LEAVES[0] + b"\x00", "bad-hash-length"),
        (LEAVES[0], 0, 2, [LEAVES[1][:-1]], ROOTS[2], "bad-hash-length"),
        (LEAVES[0], 0, 2, [], ROOTS[2], "wrong-proof-size"),
        (LEAVES[0], 0, 1, [LEAVES[1]], LEAVES[0], "wrong-proof-size"),
        (LEAVES[0], 0, 2, [LEAVES[1]], ROOTS[3], "root-mismatch"),
        (LEAVES[0], 0, 1, [], LEAVES[0], None),
        (LEAVES[0], 0, 2, [LEAVES[1]], ROOTS[2], None),
    ],
)
def test_inclusion_rules(
    leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes, reason: str | None
) -> None:
    if reason is None:
        verify_inclusion(leaf, index, size, proof, root)
    else:
        assert _rejected(verify_inclusion, leaf, index, size, proof, root).reason == reason


def test_messages_say_got_and_expected() -> None:
    leaves = LEAVES[:7]
    proof = inclusion_proof(leaves, 3)

    msg = str(_rejected(verify_inclusion, leaves[3], 3, 7, proof[:-1], ROOTS[7]))
    assert f"has {len(proof) - 1} hashes, expected {len(proof)}" in msg

    msg = str(_rejected(verify_inclusion, leaves[3], 3, 7, proof, ROOTS[6]))
    computed = root_from_inclusion_proof(leaves[3], 3, 7, proof)
    assert ROOTS[6].hex() in msg
    assert computed.hex() in msg

    msg = str(_rejected(verify_inclusion, leaves[3][:5], 3, 7, proof, ROOTS[7]))
    assert "5 bytes, expected 32" in msg

    msg = str(_rejected(verify_inclusion, leaves[3], 9, 7, proof, ROOTS[7]))
    assert "9" in msg
    assert "7" in msg

    msg = str(_rejected(verify_consistency, 3, 7, [], ROOTS[3], ROOTS[7]))
    assert "has 0 hashes, expected" in msg

    msg = str(_rejected(verify_consistency, 5, 4, [], ROOTS[5], ROOTS[4]))
    assert "5" in msg
    assert "4" in msg

    consistency = consistency_proof(leaves, 3)
    msg = str(_rejected(verify_consistency, 3, 7, consistency, ROOTS[3], OTHER))
    assert OTHER.hex() in msg
    assert ROOTS[7].hex() in msg


def test_proof_error_contract() -> None:
    assert issubclass(ProofError, ValueError)
    err = ProofError("root-mismatch", "details")
    assert err.reason == "root-mismatch"
    assert str(err) == "details"
    for reason in KNOWN_REASONS:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", reason)


# The published RFC 9162 contract; names may be added, never removed or changed.
PUBLISHED_API = frozenset(
    {
        "ProofError",
        "leaf_hash",
        "node_hash",
        "root_hash",
        "inclusion_proof",
        "consistency_proof",
        "verify_inclusion",
        "verify_consistency",
        "root_from_inclusion_proof",
        "roots_from_consistency_proof",
    }
)
# Subtree proofs (Merkle Tree Certificates draft).
SUBTREE_API = frozenset(
    {
        "subtree_inclusion_proof",
        "subtree_consistency_proof",
        "root_from_subtree_inclusion_proof",
        "roots_from_subtree_consistency_proof",
        "verify_subtree_inclusion",
        "verify_subtree_consistency",
    }
)
# Provers over stored complete subtrees, for the store (maintained with the store code).
STORE_API = frozenset(
    {
        "CompactRange",
        "perfect_subtrees",
        "fold_subtrees",
        "subtree_levels",
        "inclusion_proof_from",
        "consistency_proof_from",
    }
)


def test_public_api_is_the_published_contract() -> None:
    expected = PUBLISHED_API | SUBTREE_API | STORE_API
    assert set(merkle.__all__) == expected
    public_defs = {
        name
        for name, value in vars(merkle).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == merkle.__name__
    }
    assert public_defs == expected


def test_module_is_pure() -> None:
    tree = ast.parse(Path(merkle.__file__).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    assert imported <= {"__future__", "hashlib", "collections.abc", "typing"}
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert not names & {"open", "print", "input", "exec", "eval"}


# --------------------------------------------------------------------------------------------
# 5. Property tests (hypothesis) on larger, arbitrary trees
# --------------------------------------------------------------------------------------------

entries_st = st.lists(st.binary(max_size=40), min_size=1, max_size=300)


@settings(max_examples=60, deadline=None)
@given(entries=entries_st, data=st.data())
def test_inclusion_property(entries: list[bytes], data: st.DataObject) -> None:
    leaves = [leaf_hash(e) for e in entries]
    n = len(leaves)
    index = data.draw(st.integers(0, n - 1), label="index")
    root = root_hash(leaves)
    assert root == ref_mth(entries)
    proof = inclusion_proof(leaves, index)
    assert proof == ref_path(index, entries)
    verify_inclusion(leaves[index], index, n, proof, root)
    if proof:
        i = data.draw(st.integers(0, len(proof) - 1), label="element")
        bit = data.draw(st.integers(0, 255), label="bit")
        bad = [*proof[:i], _flip(proof[i], bit), *proof[i + 1 :]]
        assert _rejected(verify_inclusion, leaves[index], index, n, bad, root).reason == (
            "root-mismatch"
        )


@settings(max_examples=60, deadline=None)
@given(entries=entries_st, data=st.data())
def test_consistency_property(entries: list[bytes], data: st.DataObject) -> None:
    leaves = [leaf_hash(e) for e in entries]
    n = len(leaves)
    m = data.draw(st.integers(1, n), label="old_size")
    old_root, new_root = root_hash(leaves[:m]), root_hash(leaves)
    proof = consistency_proof(leaves, m)
    if m < n:
        assert proof == ref_proof(m, entries)
    else:
        assert proof == []
    verify_consistency(m, n, proof, old_root, new_root)
    if proof:
        i = data.draw(st.integers(0, len(proof) - 1), label="element")
        bit = data.draw(st.integers(0, 255), label="bit")
        bad = [*proof[:i], _flip(proof[i], bit), *proof[i + 1 :]]
        _rejected(verify_consistency, m, n, bad, old_root, new_root)


hash_like_st = st.one_of(st.binary(min_size=32, max_size=32), st.binary(max_size=40))


@settings(max_examples=300, deadline=None)
@given(
    leaf=hash_like_st,
    index=st.integers(-3, 70),
    size=st.integers(-3, 70),
    proof=st.lists(hash_like_st, max_size=9),
    root=hash_like_st,
)
def test_verify_inclusion_only_raises_proof_error(
    leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes
) -> None:
    try:
        verify_inclusion(leaf, index, size, proof, root)
    except ProofError as err:
        assert err.reason in KNOWN_REASONS
    else:  # Random junk can only verify by a SHA-256 collision, except the trivial tree.
        assert size == 1 and not proof and leaf == root


@settings(max_examples=300, deadline=None)
@given(
    old_size=st.integers(-3, 70),
    new_size=st.integers(-3, 70),
    proof=st.lists(hash_like_st, max_size=9),
    old_root=hash_like_st,
    new_root=hash_like_st,
)
def test_verify_consistency_only_raises_proof_error(
    old_size: int, new_size: int, proof: list[bytes], old_root: bytes, new_root: bytes
) -> None:
    try:
        verify_consistency(old_size, new_size, proof, old_root, new_root)
    except ProofError as err:
        assert err.reason in KNOWN_REASONS
    else:  # Only the equal-size shortcut can accept junk; it then needs equal roots.
        assert old_size == new_size and not proof and old_root == new_root


# --------------------------------------------------------------------------------------------
# 6. Subtree proofs (draft-ietf-plants-merkle-tree-certs, "Subtrees")
# --------------------------------------------------------------------------------------------


def _ref_bit_ceil(n: int) -> int:
    c = 1
    while c < n:
        c *= 2
    return c


def ref_valid_subtree(start: int, end: int) -> bool:
    """Definition of a Subtree: 0 <= start <= end, start a multiple of BIT_CEIL(end - start)."""
    return 0 <= start <= end and start % _ref_bit_ceil(end - start) == 0


def ref_subtree_subproof(start: int, end: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    """SUBTREE_SUBPROOF, literally (indices relative to ``d``)."""
    n = len(d)
    if start == 0 and end == n:
        return [] if b else [ref_mth(d)]
    k = _ref_k(n)
    if end <= k:
        return [*ref_subtree_subproof(start, end, d[:k], b), ref_mth(d[k:])]
    if k <= start:
        return [*ref_subtree_subproof(start - k, end - k, d[k:], b), ref_mth(d[:k])]
    assert start == 0
    return [*ref_subtree_subproof(0, end - k, d[k:], False), ref_mth(d[:k])]


def ref_subtree_proof(start: int, end: int, d: Sequence[bytes]) -> list[bytes]:
    return [] if start == end else ref_subtree_subproof(start, end, d, True)


# A naive verifier sharing no code with the module: the same recursions, but yielding the leaf
# range [a, b) each proof hash stands for. Given those labels, both roots are rebuilt by the
# RFC's MTH recursion, taking a labelled hash wherever one is available.


def _ref_path_ranges(m: int, lo: int, hi: int) -> list[tuple[int, int]]:
    if hi - lo == 1:
        return []
    mid = lo + _ref_k(hi - lo)
    if lo + m < mid:
        return [*_ref_path_ranges(m, lo, mid), (mid, hi)]
    return [*_ref_path_ranges(m - (mid - lo), mid, hi), (lo, mid)]


def _ref_subproof_ranges(start: int, end: int, lo: int, hi: int, b: bool) -> list[tuple[int, int]]:
    if start == lo and end == hi:
        return [] if b else [(lo, hi)]
    mid = lo + _ref_k(hi - lo)
    if end <= mid:
        return [*_ref_subproof_ranges(start, end, lo, mid, b), (mid, hi)]
    if mid <= start:
        return [*_ref_subproof_ranges(start, end, mid, hi, b), (lo, mid)]
    return [*_ref_subproof_ranges(mid, end, mid, hi, False), (lo, mid)]


def _ref_rebuild(lo: int, hi: int, known: dict[tuple[int, int], bytes]) -> bytes | None:
    """MTH of [lo, hi) from the labelled hashes, or None if some leaf is not covered."""
    if (lo, hi) in known:
        return known[(lo, hi)]
    if hi - lo <= 1:
        return None
    mid = lo + _ref_k(hi - lo)
    left, right = _ref_rebuild(lo, mid, known), _ref_rebuild(mid, hi, known)
    if left is None or right is None:
        return None
    return _sha256(b"\x01" + left + right)


def ref_verify_subtree_inclusion(
    leaf: bytes, index: int, start: int, end: int, proof: list[bytes], subtree_root: bytes
) -> bool:
    if not ref_valid_subtree(start, end) or not start <= index < end:
        return False
    ranges = _ref_path_ranges(index - start, start, end)
    if len(proof) != len(ranges) or any(len(h) != 32 for h in [leaf, *proof, subtree_root]):
        return False
    known = dict(zip(ranges, proof, strict=True))
    known[(index, index + 1)] = leaf
    return _ref_rebuild(start, end, known) == subtree_root


def ref_verify_subtree_consistency(
    start: int, end: int, size: int, proof: list[bytes], subtree_root: bytes, root: bytes
) -> bool:
    if not ref_valid_subtree(start, end) or end > size:
        return False
    if start == end:
        return not proof and subtree_root == _sha256(b"")
    ranges = _ref_subproof_ranges(start, end, 0, size, True)
    if len(proof) != len(ranges):
        return False
    known = dict(zip(ranges, proof, strict=True))
    # The subtree root comes from the proof when the proof covers the subtree's leaves;
    # otherwise it is a node of the tree, and the verifier's copy is used.
    from_proof = _ref_rebuild(start, end, known)
    if from_proof is None:
        from_proof = known[(start, end)] = subtree_root
    return from_proof == subtree_root and _ref_rebuild(0, size, known) == root


MAX_SUBTREE_SIZE = 40


def _valid_subtrees(size: int) -> Iterator[tuple[int, int]]:
    """Every valid subtree [start, end) with end <= size, empty ones included."""
    for end in range(size + 1):
        for start in range(end + 1):
            if ref_valid_subtree(start, end):
                yield start, end


def test_valid_subtree_definition() -> None:
    valid = set(_valid_subtrees(16))
    assert {(0, e) for e in range(17)} <= valid
    assert {(x, x) for x in range(17)} <= valid
    assert {(4, 8), (8, 13), (8, 16), (12, 13), (6, 8)} <= valid
    assert not {(1, 3), (2, 5), (2, 6), (4, 9), (3, 5), (1, 15), (8, 15 + 8)} & valid
    for start, end in [(1, 3), (2, 5), (-1, 0), (2, 1), (1, (1 << 63) + 2)]:
        with pytest.raises(ValueError, match="not a subtree"):
            subtree_consistency_proof(LEAVES[:8], start, end)
        err = _rejected(verify_subtree_consistency, start, end, 1 << 64, [], EMPTY_ROOT, OTHER)
        assert err.reason == "invalid-subtree"
        err = _rejected(verify_subtree_inclusion, LEAVES[0], start, start, end, [], OTHER)
        assert err.reason == "invalid-subtree"


@pytest.mark.parametrize("n", range(MAX_SUBTREE_SIZE + 1))
def test_subtree_proofs_match_reference_and_round_trip(n: int) -> None:
    leaves, entries, root = LEAVES[:n], LOG[:n], ROOTS[n]
    for start, end in _valid_subtrees(n):
        sub_root = ref_mth(entries[start:end])
        proof = subtree_consistency_proof(leaves, start, end)
        assert proof == ref_subtree_proof(start, end, entries), (start, end)
        assert ref_verify_subtree_consistency(start, end, n, proof, sub_root, root)
        verify_subtree_consistency(start, end, n, proof, sub_root, root)
        implied = roots_from_subtree_consistency_proof(start, end, n, proof, sub_root)
        assert implied == (sub_root, None if start == end else root)
        # The draft's two special cases of SUBTREE_PROOF.
        if start == 0 and 0 < end < n:
            assert proof == consistency_proof(leaves, end)
        if end == start + 1:
            assert proof == inclusion_proof(leaves, start)
        for index in range(start, end):
            path = subtree_inclusion_proof(leaves, index, start, end)
            assert path == ref_path(index - start, entries[start:end]), (index, start, end)
            assert ref_verify_subtree_inclusion(leaves[index], index, start, end, path, sub_root)
            verify_subtree_inclusion(leaves[index], index, start, end, path, sub_root)
            assert root_from_subtree_inclusion_proof(leaves[index], index, start, end, path) == (
                sub_root
            )
            if start == 0 and end == n:
                assert path == inclusion_proof(leaves, index)


def test_subtree_proofs_draft_examples() -> None:
    """The worked examples of the draft's figures, by the ranges each hash covers."""
    leaves = LEAVES[:14]

    def mth(lo: int, hi: int) -> bytes:
        return root_hash(leaves[lo:hi])

    assert subtree_inclusion_proof(leaves, 10, 8, 13) == [mth(11, 12), mth(8, 10), mth(12, 13)]
    assert subtree_consistency_proof(leaves, 4, 8) == [mth(0, 4), mth(8, 14)]
    assert subtree_consistency_proof(leaves, 8, 13) == [
        mth(12, 13),
        mth(13, 14),
        mth(8, 12),
        mth(0, 8),
    ]


def test_subtree_prover_preconditions() -> None:
    leaves = LEAVES[:8]
    with pytest.raises(ValueError, match="beyond"):
        subtree_consistency_proof(leaves, 8, 9)
    with pytest.raises(ValueError, match="beyond"):
        subtree_inclusion_proof(leaves, 8, 8, 9)
    for index in (3, 8, -1):
        with pytest.raises(ValueError, match="outside"):
            subtree_inclusion_proof(leaves, index, 4, 8)
    with pytest.raises(ValueError, match="outside"):
        subtree_inclusion_proof(leaves, 4, 4, 4)
    assert subtree_consistency_proof(leaves, 0, 0) == []  # unlike consistency_proof(leaves, 0)
    assert subtree_consistency_proof(leaves, 5, 5) == []
    assert subtree_consistency_proof(leaves, 0, 8) == []
    with pytest.raises(ValueError, match="expected 32"):
        subtree_consistency_proof([*leaves[:5], b"short", *leaves[6:]], 0, 4)


@pytest.mark.parametrize("n", range(1, 33))
def test_subtree_mutations_are_rejected(n: int) -> None:
    leaves, root = LEAVES[:n], ROOTS[n]
    for start, end in _valid_subtrees(n):
        sub_root = root_hash(leaves[start:end])
        proof = subtree_consistency_proof(leaves, start, end)
        for label, bad in _proof_mutations(proof, STRANGER):
            err = _rejected(verify_subtree_consistency, start, end, n, bad, sub_root, root)
            assert err.reason not in {"invalid-subtree", "end-exceeds-size"}, label
            assert not ref_verify_subtree_consistency(start, end, n, bad, sub_root, root), label
        if start < end:
            # Wrong roots, each with the honest root of something else.
            _rejected(verify_subtree_consistency, start, end, n, proof, STRANGER, root)
            _rejected(verify_subtree_consistency, start, end, n, proof, sub_root, STRANGER)
            _rejected(verify_subtree_consistency, start, end, n, proof, sub_root, ROOTS[n + 1])
            if end - start > 1:
                _rejected(
                    verify_subtree_consistency,
                    start,
                    end,
                    n,
                    proof,
                    root_hash(leaves[start : end - 1]),
                    root,
                )
            # A tree whose leaves in [start, end) differ does not contain this subtree.
            forked = [*leaves[: end - 1], STRANGER, *leaves[end:]]
            _rejected(verify_subtree_consistency, start, end, n, proof, sub_root, root_hash(forked))
            forked_proof = subtree_consistency_proof(forked, start, end)
            _rejected(
                verify_subtree_consistency, start, end, n, forked_proof, sub_root, root_hash(forked)
            )
            # Wrong positions, with the same proof and subtree root. Against the honest root
            # of the claimed size the claim is false unless the subtree is the same one in a
            # bigger tree; then (as in RFC 9162, the proof does not bind the size) the module
            # must just agree with the reference verifier.
            for s, e, size in {
                (start, end, n + 1),
                (start, end, 2 * n),
                (start, end + 1, n),
                (start, end - 1, n),
                (end, 2 * end - start, 2 * n),
            } - {(start, end, n)}:
                for claimed_root in (ROOTS[size], root):
                    args = (s, e, size, proof, sub_root, claimed_root)
                    if (s, e) != (start, end) and claimed_root == ROOTS[size]:
                        _rejected(verify_subtree_consistency, *args)
                    try:
                        verify_subtree_consistency(*args)
                    except ProofError:
                        assert not ref_verify_subtree_consistency(*args), args
                    else:
                        assert ref_verify_subtree_consistency(*args), args
        for index in range(start, end):
            path = subtree_inclusion_proof(leaves, index, start, end)
            for label, bad in _proof_mutations(path, STRANGER):
                err = _rejected(
                    verify_subtree_inclusion, leaves[index], index, start, end, bad, sub_root
                )
                assert err.reason not in {"invalid-subtree", "index-out-of-range"}, label
            for wrong in {index - 1, index + 1, index ^ 1, end, start - 1} - {index}:
                _rejected(
                    verify_subtree_inclusion, leaves[index], wrong, start, end, path, sub_root
                )
            _rejected(verify_subtree_inclusion, STRANGER, index, start, end, path, sub_root)
            _rejected(
                verify_subtree_inclusion,
                leaves[index],
                index,
                start,
                end,
                path,
                root_hash(LEAVES[start : end + 1]),
            )


OTHER_LEAF = leaf_hash(b"other")


@pytest.mark.parametrize(
    ("start", "end", "size", "proof", "subtree_root", "root", "reason"),
    [
        # Empty subtree: empty proof, subtree root = SHA-256(b""), root not checked at all.
        (0, 0, 0, [], EMPTY_ROOT, EMPTY_ROOT, None),
        (0, 0, 0, [], EMPTY_ROOT, b"anything", None),
        (3, 3, 5, [], EMPTY_ROOT, b"", None),
        (5, 5, 5, [], EMPTY_ROOT, ROOTS[5], None),
        (0, 0, 4, [], EMPTY_ROOT, ROOTS[4], None),
        (3, 3, 5, [], OTHER, OTHER, "subtree-root-mismatch"),
        (3, 3, 5, [], b"short", b"short", "bad-hash-length"),
        (3, 3, 5, [EMPTY_ROOT], EMPTY_ROOT, EMPTY_ROOT, "wrong-proof-size"),
        (6, 6, 5, [], EMPTY_ROOT, EMPTY_ROOT, "end-exceeds-size"),
        # Whole tree: empty proof and equal roots, compared opaquely.
        (0, 5, 5, [], ROOTS[5], ROOTS[5], None),
        (0, 1, 1, [], b"don't care", b"don't care", None),
        (0, 5, 5, [], ROOTS[5], OTHER, "root-mismatch"),
        (0, 5, 5, [OTHER], ROOTS[5], ROOTS[5], "wrong-proof-size"),
        # Bad positions.
        (0, 6, 5, [], ROOTS[6], ROOTS[5], "end-exceeds-size"),
        (0, 1, -1, [], LEAVES[0], LEAVES[0], "end-exceeds-size"),
        (2, 1, 5, [], EMPTY_ROOT, ROOTS[5], "invalid-subtree"),
        (-2, 0, 5, [], EMPTY_ROOT, ROOTS[5], "invalid-subtree"),
        (2, 5, 8, [], OTHER, ROOTS[8], "invalid-subtree"),
        # Hash lengths on the hashing path.
        (4, 5, 5, [ROOTS[4]], LEAVES[4][:31], ROOTS[5], "bad-hash-length"),
        (4, 5, 5, [ROOTS[4]], LEAVES[4], ROOTS[5] + b"\x00", "bad-hash-length"),
        (4, 5, 5, [ROOTS[4][:16]], LEAVES[4], ROOTS[5], "bad-hash-length"),
        (4, 5, 5, [], LEAVES[4], ROOTS[5], "wrong-proof-size"),
        (4, 5, 5, [ROOTS[4]], LEAVES[4], ROOTS[5], None),
        (4, 5, 5, [ROOTS[4]], OTHER_LEAF, ROOTS[5], "root-mismatch"),
    ],
)
def test_subtree_consistency_rules(
    start: int,
    end: int,
    size: int,
    proof: list[bytes],
    subtree_root: bytes,
    root: bytes,
    reason: str | None,
) -> None:
    args = (start, end, size, proof, subtree_root, root)
    if reason is None:
        verify_subtree_consistency(*args)
    else:
        assert _rejected(verify_subtree_consistency, *args).reason == reason


def test_subtree_root_mismatch_is_reported_before_the_tree_root() -> None:
    leaves = LEAVES[:14]
    proof = subtree_consistency_proof(leaves, 8, 13)  # the seed is not the subtree root
    wrong_sub = root_hash(leaves[8:12])
    err = _rejected(verify_subtree_consistency, 8, 13, 14, proof, wrong_sub, ROOTS[14])
    assert err.reason == "subtree-root-mismatch"
    assert wrong_sub.hex() in str(err)
    assert root_hash(leaves[8:13]).hex() in str(err)
    err = _rejected(verify_subtree_consistency, 8, 13, 14, proof, root_hash(leaves[8:13]), OTHER)
    assert err.reason == "root-mismatch"
    msg = str(_rejected(verify_subtree_consistency, 8, 13, 14, proof[:-1], wrong_sub, OTHER))
    assert f"has {len(proof) - 1} hashes, expected {len(proof)}" in msg


@pytest.mark.parametrize(
    ("leaf", "index", "start", "end", "proof", "subtree_root", "reason"),
    [
        (LEAVES[4], 4, 4, 5, [], LEAVES[4], None),
        (LEAVES[4], 4, 4, 6, [LEAVES[5]], root_hash(LEAVES[4:6]), None),
        (LEAVES[4], 4, 4, 4, [], EMPTY_ROOT, "index-out-of-range"),
        (LEAVES[4], 3, 4, 8, [], ROOTS[4], "index-out-of-range"),
        (LEAVES[4], 8, 4, 8, [], ROOTS[4], "index-out-of-range"),
        (LEAVES[4], 4, 3, 5, [], ROOTS[4], "invalid-subtree"),
        (LEAVES[4], 4, 5, 4, [], ROOTS[4], "invalid-subtree"),
        (LEAVES[4][:31], 4, 4, 5, [], LEAVES[4], "bad-hash-length"),
        (LEAVES[4], 4, 4, 5, [], b"", "bad-hash-length"),
        (LEAVES[4], 4, 4, 6, [LEAVES[5][:-1]], root_hash(LEAVES[4:6]), "bad-hash-length"),
        (LEAVES[4], 4, 4, 6, [], root_hash(LEAVES[4:6]), "wrong-proof-size"),
        (LEAVES[4], 4, 4, 5, [LEAVES[5]], LEAVES[4], "wrong-proof-size"),
        (LEAVES[4], 4, 4, 6, [LEAVES[5]], ROOTS[2], "subtree-root-mismatch"),
    ],
)
def test_subtree_inclusion_rules(
    leaf: bytes,
    index: int,
    start: int,
    end: int,
    proof: list[bytes],
    subtree_root: bytes,
    reason: str | None,
) -> None:
    args = (leaf, index, start, end, proof, subtree_root)
    if reason is None:
        verify_subtree_inclusion(*args)
    else:
        assert _rejected(verify_subtree_inclusion, *args).reason == reason


def test_subtree_inclusion_proof_is_the_subtree_not_the_tree() -> None:
    """A subtree inclusion proof leads to the subtree root, which is not the tree root."""
    leaves = LEAVES[:14]
    path = subtree_inclusion_proof(leaves, 10, 8, 13)
    verify_subtree_inclusion(leaves[10], 10, 8, 13, path, root_hash(leaves[8:13]))
    _rejected(verify_inclusion, leaves[10], 10, 14, path, ROOTS[14])
    _rejected(verify_subtree_inclusion, leaves[10], 10, 8, 14, path, root_hash(leaves[8:14]))


# --- property tests: larger trees, and the module against the naive reference verifier ----


@settings(max_examples=80, deadline=None)
@given(entries=st.lists(st.binary(max_size=20), min_size=1, max_size=300), data=st.data())
def test_subtree_property(entries: list[bytes], data: st.DataObject) -> None:
    leaves = [leaf_hash(e) for e in entries]
    n = len(leaves)
    end = data.draw(st.integers(0, n), label="end")
    start = data.draw(
        st.sampled_from([s for s in range(end + 1) if ref_valid_subtree(s, end)]), label="start"
    )
    sub_root, root = root_hash(leaves[start:end]), root_hash(leaves)
    proof = subtree_consistency_proof(leaves, start, end)
    assert proof == ref_subtree_proof(start, end, entries)
    verify_subtree_consistency(start, end, n, proof, sub_root, root)
    if proof:
        i = data.draw(st.integers(0, len(proof) - 1), label="element")
        bit = data.draw(st.integers(0, 255), label="bit")
        bad = [*proof[:i], _flip(proof[i], bit), *proof[i + 1 :]]
        _rejected(verify_subtree_consistency, start, end, n, bad, sub_root, root)
    if start < end:
        index = data.draw(st.integers(start, end - 1), label="index")
        path = subtree_inclusion_proof(leaves, index, start, end)
        assert path == ref_path(index - start, entries[start:end])
        verify_subtree_inclusion(leaves[index], index, start, end, path, sub_root)


# Proofs to try: honest ones for a nearby subtree of the same tree, mutated, or junk.
_REF_LEAVES = LEAVES[:40]


@st.composite
def _subtree_consistency_case(draw: st.DrawFn) -> tuple[int, int, int, list[bytes], bytes, bytes]:
    size = draw(st.integers(0, 40), label="size")
    end = draw(st.integers(0, size), label="end")
    start = draw(st.integers(0, end), label="start")
    honest = ref_valid_subtree(start, end)
    pool = [*_REF_LEAVES[:3], ROOTS[size], ROOTS[end], STRANGER, EMPTY_ROOT]
    if honest:
        proof = ref_subtree_proof(start, end, LOG[:size])
        pool += proof
        choice = draw(st.integers(0, 3), label="proof kind")
        if choice == 1 and proof:
            i = draw(st.integers(0, len(proof) - 1))
            proof = [*proof[:i], draw(st.sampled_from(pool)), *proof[i + 1 :]]
        elif choice == 2:
            proof = draw(st.permutations(proof))
        elif choice == 3:
            proof = draw(st.lists(st.sampled_from(pool), max_size=8))
    else:
        proof = draw(st.lists(st.sampled_from(pool), max_size=8))
    roots = [ROOTS[size], ref_mth(LOG[start:end]), EMPTY_ROOT, STRANGER, *proof[:1]]
    sub_root = draw(st.sampled_from(roots), label="subtree root")
    root = draw(st.sampled_from(roots), label="root")
    return start, end, size, proof, sub_root, root


@settings(max_examples=1500, deadline=None)
@given(case=_subtree_consistency_case())
def test_subtree_consistency_agrees_with_reference_verifier(
    case: tuple[int, int, int, list[bytes], bytes, bytes],
) -> None:
    expected = ref_verify_subtree_consistency(*case)
    try:
        verify_subtree_consistency(*case)
    except ProofError as err:
        assert err.reason in KNOWN_REASONS
        assert not expected, case
    else:
        assert expected, case


@settings(max_examples=1000, deadline=None)
@given(
    size=st.integers(1, 40),
    data=st.data(),
)
def test_subtree_inclusion_agrees_with_reference_verifier(size: int, data: st.DataObject) -> None:
    end = data.draw(st.integers(0, size), label="end")
    start = data.draw(st.integers(0, end), label="start")
    index = data.draw(st.integers(start - 1, end), label="index")
    leaf = data.draw(st.sampled_from([LEAVES[max(index, 0)], STRANGER]), label="leaf")
    pool = [*_REF_LEAVES[:4], STRANGER, EMPTY_ROOT, b"short"]
    if ref_valid_subtree(start, end) and start <= index < end:
        honest = ref_path(index - start, LOG[start:end])
        proof = data.draw(
            st.one_of(
                st.just(honest),
                st.permutations(honest),
                st.lists(st.sampled_from([*pool, *honest]), max_size=7),
            ),
            label="proof",
        )
    else:
        proof = data.draw(st.lists(st.sampled_from(pool), max_size=7), label="proof")
    sub_root = data.draw(st.sampled_from([ref_mth(LOG[start:end]), ROOTS[size], STRANGER]))
    expected = ref_verify_subtree_inclusion(leaf, index, start, end, proof, sub_root)
    try:
        verify_subtree_inclusion(leaf, index, start, end, proof, sub_root)
    except ProofError as err:
        assert err.reason in KNOWN_REASONS
        assert not expected
    else:
        assert expected


@settings(max_examples=300, deadline=None)
@given(
    start=st.integers(-3, 70),
    end=st.integers(-3, 70),
    size=st.integers(-3, 70),
    proof=st.lists(hash_like_st, max_size=9),
    subtree_root=hash_like_st,
    root=hash_like_st,
    leaf=hash_like_st,
    index=st.integers(-3, 70),
)
def test_subtree_verifiers_only_raise_proof_error(
    start: int,
    end: int,
    size: int,
    proof: list[bytes],
    subtree_root: bytes,
    root: bytes,
    leaf: bytes,
    index: int,
) -> None:
    try:
        verify_subtree_consistency(start, end, size, proof, subtree_root, root)
    except ProofError as err:
        assert err.reason in KNOWN_REASONS
    else:  # Junk passes only where nothing is hashed: empty subtree, or the whole tree.
        assert not proof
        assert (start == end and subtree_root == EMPTY_ROOT) or (
            start == 0 and end == size and subtree_root == root
        )
    try:
        verify_subtree_inclusion(leaf, index, start, end, proof, subtree_root)
    except ProofError as err:
        assert err.reason in KNOWN_REASONS
    else:
        assert end - start == 1 and not proof and leaf == subtree_root


def test_subtree_proof_sizes() -> None:
    """The verifier's exact length check accepts the prover's proofs for every subtree up to
    64 leaves (beyond the exhaustive cross-check above), both halves of the tree included."""
    leaves = LEAVES[:64]
    for n in range(65):
        for start, end in _valid_subtrees(n):
            proof = subtree_consistency_proof(leaves[:n], start, end)
            sub_root = root_hash(leaves[start:end])
            verify_subtree_consistency(start, end, n, proof, sub_root, root_hash(leaves[:n]))


@given(before=st.integers(0, 40), height=st.integers(0, 4))
def test_a_subtree_appended_whole_equals_its_leaves_appended_one_by_one(
    before: int, height: int
) -> None:
    before -= before % (1 << height)  # where a subtree of that height can sit
    leaves = [merkle.leaf_hash(i.to_bytes(2, "big")) for i in range(before + (1 << height))]
    one = merkle.CompactRange()
    one_nodes = [node for leaf in leaves for node in one.append(leaf)]
    whole = merkle.CompactRange()
    whole_nodes = [node for leaf in leaves[:before] for node in whole.append(leaf)]
    levels = merkle.subtree_levels(b"".join(leaves[before:]))
    assert len(levels) == height + 1 and levels[-1] == merkle.root_hash(leaves[before:])
    whole_nodes += [
        (level, (before >> level) + at // 32, hashes[at : at + 32])
        for level, hashes in enumerate(levels)
        for at in range(0, len(hashes), 32)
    ]
    whole_nodes += whole.append_subtree(height, levels[-1])[1:]
    assert (whole.size, whole.root()) == (one.size, one.root())
    assert sorted(whole_nodes) == sorted(one_nodes)


def test_a_subtree_must_sit_where_its_leaves_would() -> None:
    tree = merkle.CompactRange()
    tree.append(merkle.leaf_hash(b"a"))
    with pytest.raises(ValueError, match="cannot start at leaf 1"):
        tree.append_subtree(1, bytes(32))
    with pytest.raises(ValueError, match="not a power of two"):
        merkle.subtree_levels(bytes(96))
    with pytest.raises(ValueError, match="not a power of two"):
        merkle.subtree_levels(b"")
