"""What the reading commands ask of a store: its ledgers, a ledger opened, the events filtered
and revealed, one event, a verification. Types the CLI prints come from here as well, so that it
needs nothing below the application."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ledger.chain.ledger import Ledger, Summary, parse_row, summaries
from ledger.chain.verify import TrustedCheckpoint, VerificationResult, verify_ledger
from ledger.core import catalogue
from ledger.core.envelope import Entry
from ledger.errors import InputError
from ledger.store import Store, open_store
from ledger.store.pages import paged

__all__ = [
    "Entry",
    "Ledger",
    "State",
    "Store",
    "Summary",
    "VerificationResult",
    "event",
    "event_types",
    "events",
    "ledgers",
    "open_ledger",
    "read_store",
    "states",
    "verify",
]

PAGE = 500  # events revealed together: one read of their personal values


def open_ledger(target: str, *, read_only: bool = False, select: str | None = None) -> Ledger:
    """The ledger of the store at ``target`` that ``select`` names (its id or enterprise
    number; the only one when None)."""
    return Ledger.open(target, read_only=read_only, select=select)


def read_store(target: str) -> Store:
    return open_store(target, read_only=True)


def ledgers(store: Store) -> list[Summary]:
    """Every ledger of ``store``, oldest first, as stored (``audit_store`` proves them)."""
    return summaries(store)


def event_types(types: Iterable[str]) -> list[str]:
    """``types`` if each is an event type, else ``InputError`` on ``type``."""
    wanted = list(types)
    for name in wanted:
        if name not in catalogue.BY_NAME:
            raise InputError("type", f"{name!r} is not an event type; e.g. MetricSubmitted")
    return wanted


def events(
    ledger: Ledger,
    types: Iterable[str] = (),
    year: int | None = None,
    signer: str | None = None,
) -> Iterator[tuple[Entry, dict[str, Any]]]:
    """The events of these types, effective in ``year``, signed by a key id starting with
    ``signer`` (each filter only when given), in order, with their payloads revealed."""
    wanted = set(event_types(types))
    effective = None if year is None else f"{year:04d}"

    def kept(entry: Entry) -> bool:
        env = entry.envelope
        return (
            (not wanted or env.type in wanted)
            and (effective is None or env.effective[:4] == effective)
            and (not signer or env.signer.startswith(signer))
        )

    for page in paged(filter(kept, ledger.entries()), PAGE):
        yield from zip(page, ledger.revealed(page), strict=True)


def event(ledger: Ledger, seq: int) -> tuple[Entry, dict[str, Any]]:
    """Event ``seq`` with its payload revealed; ``InputError`` on ``seq`` when there is none."""
    entry = ledger.entry(seq)
    [payload] = ledger.revealed([entry])
    return entry, payload


@dataclass(frozen=True, slots=True)
class State:
    """What later events did to an event: the corrections of it, in order, and the retraction."""

    corrected_by: tuple[int, ...] = ()
    retracted_by: int | None = None

    def to_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        if self.corrected_by:
            found["corrected_by"] = list(self.corrected_by)
        if self.retracted_by is not None:
            found["retracted_by"] = self.retracted_by
        return found

    def text(self) -> str:
        """``(corrected by 23)``, ``[retracted by 35]``, both, or nothing."""
        parts = []
        if self.corrected_by:
            parts.append(f"(corrected by {', '.join(map(str, self.corrected_by))})")
        if self.retracted_by is not None:
            parts.append(f"[retracted by {self.retracted_by}]")
        return " ".join(parts)


def states(ledger: Ledger) -> dict[int, State]:
    """Per event that later events corrected or retracted, what they did (as stored; verify
    proves the corrections)."""
    corrected: dict[int, list[int]] = {}
    retracted: dict[int, int] = {}
    for row in ledger.store.read_topics(ledger.id, sorted(catalogue.CORRECTIONS)):
        env = parse_row(row).envelope
        target = env.payload.get("event")
        if not isinstance(target, int):
            continue
        if env.type == "EventRetracted":
            retracted.setdefault(target, env.seq)
        else:
            corrected.setdefault(target, []).append(env.seq)
    return {
        seq: State(tuple(corrected.get(seq, ())), retracted.get(seq))
        for seq in sorted(corrected.keys() | retracted.keys())
    }


def verify(ledger: Ledger, trusted: bytes | None = None) -> VerificationResult:
    """Every event of ``ledger`` checked; when ``trusted`` (a checkpoint's signed note) is
    given, also that the ledger extends it."""
    checkpoint = TrustedCheckpoint(trusted) if trusted is not None else None
    return verify_ledger(ledger.store, ledger.id, trusted=checkpoint)
