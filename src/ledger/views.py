"""Materialised views: projections kept in the store so that a query folds only the events
recorded since the last one. A view is a cache of a pure fold over a ledger prefix; it equals a
cold replay of that prefix by construction (the same ``World.apply``), and tests hold it to that.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

from ledger.envelope import parse_entry
from ledger.errors import StoreError
from ledger.ledger import Ledger
from ledger.projection import CORRECTIONS, Compliance, World, evaluate

COMPLIANCE_VIEW = "compliance/v1"


def _recorded_at(entry: bytes) -> str:
    # Canonical entries put the top-level recorded_at after the payload, and nothing after it
    # can hold that text: the last occurrence is the one (see envelope._without_signature).
    at = entry.rindex(b'"recorded_at":"') + 15
    return entry[at : at + 27].decode()


def world(
    ledger: Ledger,
    as_known_at: str | None = None,
    *,
    use_view: bool = True,
    upto: int | None = None,
    start: World | None = None,
) -> World:
    """The World of the ledger as known at ``as_known_at`` (None: now), or of its first
    ``upto`` events. ``start`` (an empty World with other tracked types, e.g. a report's)
    replaces the compliance World; only the compliance World is kept as a view."""
    use_view = use_view and start is None and upto is None
    state = ledger.store.view(ledger.id, COMPLIANCE_VIEW) if use_view else None
    current = World.from_bytes(state[1]) if state else (start or World())
    if as_known_at is not None and current.last_recorded_at > as_known_at:
        current = World()  # the view is past the instant asked for: replay from the start
    relevant = current.tracked | CORRECTIONS
    if current.newest:
        current.settled = _settled(ledger, current.newest, as_known_at, upto)
    for row in ledger.store.read(ledger.id, after=current.size, upto=upto):
        if row.topic in relevant:
            env = parse_entry(row.entry).envelope
            if as_known_at is not None and env.recorded_at > as_known_at:
                break
            current.apply(env)
        else:
            at = _recorded_at(row.entry)
            if as_known_at is not None and at > as_known_at:
                break
            current.skip(row.seq, at)
    if use_view and current.size > (state[0] if state else 0):
        # A read-only store or replica answers all the same, only slower next time.
        with contextlib.suppress(StoreError):
            ledger.store.save_view(ledger.id, COMPLIANCE_VIEW, current.size, current.to_bytes())
    return current


def _settled(
    ledger: Ledger, types: Iterable[str], as_known_at: str | None, upto: int | None
) -> dict[int, tuple[dict[str, Any], str] | None]:
    """What the corrections and retractions of the prefix do to events of ``types``: target
    seq -> (final payload, effective date), None when retracted (``World.settled``). They are
    few and indexed by type, so this reads little even on a large ledger."""
    found: dict[int, tuple[dict[str, Any], str] | None] = {}
    for row in ledger.store.read_topics(ledger.id, sorted(CORRECTIONS)):
        env = parse_entry(row.entry).envelope
        if (upto is not None and env.seq > upto) or (
            as_known_at is not None and env.recorded_at > as_known_at
        ):
            break
        target = env.payload["event"]
        found[target] = (
            (env.payload["replacement"], env.effective) if env.type == "EventCorrected" else None
        )
    wanted = set(types)
    targets = ledger.store.rows(ledger.id, sorted(found))
    return {r.seq: found[r.seq] for r in targets if r.topic in wanted}


def compliance(
    ledger: Ledger,
    year: int,
    as_known_at: str | None = None,
    *,
    lang: str = "fr",
    use_view: bool = True,
) -> tuple[Compliance, bytes]:
    """The compliance of ``year`` and the tree root of the prefix it rests on."""
    folded = world(ledger, as_known_at, use_view=use_view)
    return evaluate(folded, year, as_known_at, lang=lang), ledger.tree().root(folded.size)
