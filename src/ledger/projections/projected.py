"""Projections of a ledger in its store: the events a projection folds, read by type (an index:
the compliance World of a ledger of a million figures reads its few hundred governance events)
and judged in order by the rulebook (``Ledger.judged``), with the checkpoints the ledger
recorded, which make some of them late entries.

Nothing is kept between calls: a projection is rebuilt from the signed events each time, so no
stored state can make it say what the events do not, and ``verify`` proves the events.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from ledger.chain.ledger import Ledger, parse_row, recorded_at
from ledger.core import catalogue, rulebook
from ledger.core.catalogue import CORRECTIONS
from ledger.core.envelope import Envelope
from ledger.core.signers import Registry
from ledger.errors import InputError, IntegrityError
from ledger.projections.projection import Compliance, World, check_year, evaluate
from ledger.tlog import checkpoint, note


def world(
    ledger: Ledger,
    as_known_at: str | None = None,
    *,
    upto: int | None = None,
    start: World | None = None,
    verified: bool = False,
) -> World:
    """The World of the ledger as known at ``as_known_at`` (None: now), or of its first
    ``upto`` events. ``start`` (an empty World with other tracked types, e.g. a report's)
    replaces the compliance World. Raises ``IntegrityError`` at the first event the rulebook
    refuses; ``verified``: the caller just verified the whole ledger, which judged every event
    by the same rules, so they are not judged again."""
    if upto is not None:
        size = upto
    elif as_known_at is not None:
        size = ledger.known_at(as_known_at)
        if size == 0 and ledger.size():
            [first] = ledger.store.rows(ledger.id, [1])
            raise InputError(
                "as_known_at",
                f"{as_known_at} is before the ledger's first event, recorded at "
                f"{recorded_at(first.entry)}: nothing was known then",
            )
    else:
        size = ledger.size()
    current = start or World()
    if current.newest:
        current.settled = _settled(ledger, current.newest, size)
    registry = Registry()
    origin = ledger.origin() if size else ""
    wanted = current.tracked | CORRECTIONS | catalogue.names("checkpoint")
    events = ledger.judged(wanted, size, registry, again=not verified)
    for env in events:
        if env.type == "CheckpointRecorded":
            cosigned = _cosigned(env, origin, registry)
            if cosigned is not None:
                size, day = cosigned
                current.closed.append((size, day.year - 1))
                current.cosigned.append(cosigned)
        else:
            current.apply(env)
    current.size = size
    if size:
        [last] = ledger.store.rows(ledger.id, [size])
        current.last_recorded_at = recorded_at(last.entry)
    return current


def _cosigned(env: Envelope, origin: str, registry: Registry) -> tuple[int, date] | None:
    """(size, the day of the first cosignature by a council key the ledger enrols) of a
    recorded checkpoint: the ledger's own record of when the Council saw its tree (an audit
    counts only the keys the auditor trusts). None: no council key cosigned it."""
    try:
        opened = checkpoint.open_in_ledger(
            str(env.payload["note"]).encode(),
            origin_line=origin,
            signers=registry.signers.values(),
            not_after=rulebook.posix(env.recorded_at),
        )
    except note.NoteError as e:
        raise IntegrityError(env.seq, "bad-checkpoint", f"{e.reason}: {e}") from None
    council = checkpoint.council_keys(registry.signers.values())
    first = opened.first_cosigned({k.raw for k in council})
    return None if first is None else (opened.checkpoint.size, first)


def _settled(
    ledger: Ledger, types: Iterable[str], upto: int
) -> dict[int, tuple[dict[str, Any], str, int] | None]:
    """What the corrections and retractions of the first ``upto`` events do to events of
    ``types``: target seq -> (final payload, effective date, the correction's seq), None when
    retracted (``World.settled``). They are few and indexed by type, so this reads little even
    on a large ledger; ``Ledger.judged`` then judges each one as the World meets it."""
    found: dict[int, tuple[dict[str, Any], str, int] | None] = {}
    for row in ledger.store.topics(ledger.id, sorted(CORRECTIONS), upto):
        env = parse_row(row).envelope
        target = env.payload["event"]
        found[target] = (
            (env.payload["replacement"], env.effective, env.seq)
            if env.type == "EventCorrected"
            else None
        )
    wanted = set(types)
    targets = ledger.store.rows(ledger.id, sorted(found))
    return {r.seq: found[r.seq] for r in targets if r.topic in wanted}


def compliance(
    ledger: Ledger, year: int, as_known_at: str | None = None, *, lang: str = "fr"
) -> tuple[Compliance, bytes]:
    """The compliance of ``year`` and the tree root of the prefix it rests on."""
    folded = world(ledger, as_known_at)
    check_year(folded, year)
    return evaluate(folded, year, as_known_at, lang=lang), ledger.tree().root(folded.size)
