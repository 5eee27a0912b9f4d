"""Tests for ``ledger.tlog.merkle``.

1. Every JSON vector of transparency-dev/merkle under ``../shared/vectors`` (one test id per
   file) for the proofs the module has; valid ones must verify, invalid ones must raise
   ``ProofError``. A missing vector folder fails this module at collection, it is never
   skipped; the subtree folders are named as not covered (coop-ledger signs no subtrees).
2. A naive, literal transcription of RFC 9162's MTH / PATH / PROOF / SUBPROOF, cross-checked
   for every tree size 0..70, every leaf index and every old size against the module's
   provers reading the nodes the writer (``CompactRange``) makes, as a store keeps them.
3. Prove-then-verify round trips and mutations (bit flips, dropped / added / swapped
   elements, wrong index, wrong sizes, wrong roots), exhaustive for small trees and with
   hypothesis for larger ones.
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
    root_hash,
    roots_from_consistency_proof,
    verify_consistency,
    verify_inclusion,
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
    }
)

# --------------------------------------------------------------------------------------------
# 1. transparency-dev vectors
# --------------------------------------------------------------------------------------------

VECTORS_DIR = shared_dir() / "vectors" / "rfc6962" / "transparency-dev" / "testdata"

# Every folder must be present and every file in it is run; an unknown folder fails.
CHECKED_FOLDERS = frozenset({"inclusion", "consistency"})
# Folders deliberately not run, each with the reason.
UNCOVERED_FOLDERS = {
    "subtreeinclusion": "subtree proofs (Merkle Tree Certificates draft): nothing signs subtrees",
    "subtreeconsistency": "subtree proofs (Merkle Tree Certificates draft): nothing signs subtrees",
}


def _vector_files() -> list[Path]:
    """All vector files; fails (never skips) when the shared vectors are not there."""
    if not VECTORS_DIR.is_dir():
        pytest.fail(
            f"Merkle test vectors not found at {VECTORS_DIR}. They are expected in "
            "../shared/vectors beside the repository root, or in tests/fixtures/shared "
            "(transparency-dev/merkle testdata); restore it rather than skipping these tests.",
            pytrace=False,
        )
    files = [
        path
        for path in sorted(VECTORS_DIR.rglob("*.json"))
        if path.relative_to(VECTORS_DIR).parts[0] not in UNCOVERED_FOLDERS
    ]
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


def test_valid_vectors_over_the_reference_tree_are_what_the_provers_produce() -> None:
    """Every accepted vector over a prefix of the reference tree is exactly our prover's output."""
    leaves = [leaf_hash(e) for e in RFC6962_ENTRIES]
    roots = {root_hash(leaves[:n]): n for n in range(1, len(leaves) + 1)}
    checked = 0
    for path in VECTOR_FILES:
        folder = path.relative_to(VECTORS_DIR).parts[0]
        data = json.loads(path.read_text(encoding="utf-8"))
        proof = _b64_list(data["proof"])
        if data["wantErr"]:
            continue
        if folder == "inclusion":
            size, index = data["treeSize"], data["leafIdx"]
            if roots.get(_b64(data["root"])) != size or _b64(data["leafHash"]) != leaves[index]:
                continue  # a tree of its own
            assert inclusion_proof(leaves[:size], index) == proof
        else:
            size1, size2 = data["size1"], data["size2"]
            if roots.get(_b64(data["root2"])) != size2 or size1 in (0, size2):
                continue
            assert consistency_proof(leaves[:size2], size1) == proof
        checked += 1
    assert checked >= 9


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
# Provers over stored complete subtrees, for the store (maintained with the store code).
STORE_API = frozenset(
    {
        "CompactRange",
        "perfect_subtrees",
        "fold_subtrees",
        "subtree_levels",
        "inclusion_proof_from",
        "consistency_proof_from",
        "Node",
        "Nodes",
        "nodes_of",
        "range_roots",
        "root_at",
        "inclusion_ranges",
        "consistency_ranges",
    }
)


def test_public_api_is_the_published_contract() -> None:
    expected = PUBLISHED_API | STORE_API
    assert set(merkle.__all__) == expected
    public_defs = {
        name
        for name, value in vars(merkle).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == merkle.__name__
    }
    assert public_defs == expected - {"Node", "Nodes"}  # type aliases carry no __module__


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
# 6. The writer's compact range
# --------------------------------------------------------------------------------------------


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
    assert len(levels) == height + 1 and levels[-1] == root_hash(leaves[before:])
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
