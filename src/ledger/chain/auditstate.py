"""The auditor's state: where an audit of a bundle that passed ended, saved for the next audit
of the same ledger to start from, reading and checking the new events only.

Format ``coop-ledger/audit-state/v1`` (docs/FORMAT.md): one canonical JSON object and a newline.
It holds a ``verify.Resume`` (the tree's right edge, the chain's head, the signer events, what
checkpoints covered, the late entries found), where the last event's line starts in a bundle,
and the keys the audit trusted for cosignatures.

The state is the auditor's own record, not the ledger's: nothing the enterprise sends proves
it. Whoever can edit it can make an audit accept a rewritten history, exactly as whoever can
edit the checkpoint file an auditor trusts. Keep it where you keep that file. Reading it checks
that it is whole and consistent (its frontier folds to its root; its signer events replay,
signatures included); that is all reading it can check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from ledger.chain.verify import LateEntry, Resume
from ledger.core import canonical
from ledger.errors import InputError
from ledger.files import replacing

MAGIC = "coop-ledger/audit-state/v1"
FIELD = "state"
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
_KEY_ID = re.compile(r"[0-9a-f]{32}\Z")
_LATE = ("checkpoint_size", "covered_until", "effective", "seq", "type")
_MEMBERS = {
    "checkpoints",
    "covered",
    "frontier",
    "head",
    "late_entries",
    "ledger",
    "offset",
    "recorded_at",
    "registry",
    "root",
    "size",
    "state",
    "trust",
}


@dataclass(frozen=True, slots=True)
class AuditState:
    ledger: UUID
    resume: Resume
    offset: int  # where event ``resume.size``'s line begins, in bytes after the bundle's header
    trust: tuple[str, ...] | None  # key ids trusted for cosignatures; None: the ledger's own

    def to_bytes(self) -> bytes:
        r = self.resume
        return (
            canonical.encode(
                {
                    "state": MAGIC,
                    "ledger": str(self.ledger),
                    "size": r.size,
                    "root": r.root.hex(),
                    "frontier": [node.hex() for node in r.frontier],
                    "head": r.head,
                    "recorded_at": r.recorded_at,
                    "offset": self.offset,
                    "registry": [entry.decode() for entry in r.registry],
                    "covered": None
                    if r.covered is None
                    else {"size": r.covered[0], "until": r.covered[1]},
                    "checkpoints": r.checkpoints,
                    "late_entries": [
                        {
                            "seq": e.seq,
                            "type": e.type,
                            "effective": e.effective,
                            "checkpoint_size": e.checkpoint_size,
                            "covered_until": e.covered_until,
                        }
                        for e in r.late_entries
                    ],
                    "trust": None if self.trust is None else list(self.trust),
                }
            )
            + b"\n"
        )


def save(path: Path, state: AuditState) -> None:
    """Write the state whole, or leave the file as it was (``OSError`` says why)."""
    with replacing(path) as f:
        f.write(state.to_bytes())


def load(path: Path) -> AuditState:
    """Read a state file; raises ``InputError`` naming what is wrong with it."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(FIELD, f"cannot read {path}: {e.strerror}") from e
    return parse(data)


def parse(data: bytes) -> AuditState:
    """The state in ``data``; raises ``InputError`` for anything but a whole, consistent v1
    state (the signer events are replayed when an audit starts from it)."""
    try:
        obj = canonical.decode(data[:-1] if data.endswith(b"\n") else data)
    except canonical.CanonicalError as e:
        raise _bad(f"not canonical JSON ({e})") from None
    if not isinstance(obj, dict) or obj.get("state") != MAGIC:
        raise _bad(f"not a {MAGIC} file")
    if set(obj) != _MEMBERS:
        raise _bad(f"expected the members {', '.join(sorted(_MEMBERS))}")
    size = _count(obj, "size", least=1)
    frontier = tuple(
        bytes.fromhex(_text(node, "frontier", _HEX64)) for node in _list(obj, "frontier")
    )
    if len(frontier) != size.bit_count():
        raise _bad(f"frontier: a tree of {size} events has {size.bit_count()} subtrees")
    resume = Resume(
        size=size,
        frontier=frontier,
        head=_text(obj["head"], "head", _HEX64),
        recorded_at=_text(obj["recorded_at"], "recorded_at"),
        registry=tuple(_text(e, "registry").encode() for e in _list(obj, "registry")),
        covered=_covered(obj["covered"]),
        checkpoints=_count(obj, "checkpoints"),
        late_entries=tuple(_late(e) for e in _list(obj, "late_entries")),
    )
    if resume.root.hex() != _text(obj["root"], "root", _HEX64):
        raise _bad("root: the frontier does not fold to it; the file is damaged")
    trust = obj["trust"]
    if trust is not None:
        trust = tuple(_text(k, "trust", _KEY_ID) for k in _list(obj, "trust"))
    try:
        ledger = UUID(_text(obj["ledger"], "ledger"))
    except ValueError:
        raise _bad("ledger: not a UUID") from None
    return AuditState(ledger, resume, _count(obj, "offset"), trust)


def _bad(detail: str) -> InputError:
    return InputError(FIELD, f"not a usable audit state: {detail}")


def _count(obj: dict[str, Any], name: str, least: int = 0) -> int:
    value = obj.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise _bad(f"{name}: expected an integer of at least {least}")
    return value


def _text(value: Any, name: str, pattern: re.Pattern[str] | None = None) -> str:
    if not isinstance(value, str) or (pattern is not None and not pattern.match(value)):
        raise _bad(f"{name}: {value!r} is not what the format holds there")
    return value


def _list(obj: dict[str, Any], name: str) -> list[Any]:
    value = obj[name]
    if not isinstance(value, list):
        raise _bad(f"{name}: expected a list")
    return value


def _covered(value: Any) -> tuple[int, int] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"size", "until"}:
        raise _bad("covered: expected null or {size, until}")
    return _count(value, "size", least=1), _count(value, "until", least=1)


def _late(value: Any) -> LateEntry:
    if not isinstance(value, dict) or tuple(sorted(value)) != _LATE:
        raise _bad(f"late_entries: expected objects of {', '.join(_LATE)}")
    return LateEntry(
        _count(value, "seq", least=1),
        _text(value["type"], "late_entries"),
        _text(value["effective"], "late_entries"),
        _count(value, "checkpoint_size", least=1),
        _count(value, "covered_until", least=1),
    )
