"""A draft: an event to record, before the ledger numbers, links and signs it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger.core import personal


@dataclass(frozen=True, slots=True)
class Draft:
    """An event to record: its type, payload and effective date (default: the recording day)."""

    type: str
    payload: dict[str, Any]
    effective: str | None = None
    # Fields that refer to another draft of the same batch, by its index there: the ledger
    # puts in that draft's sequence number once it knows it (a minutes file's resolutions
    # refer to its assembly).
    links: Mapping[str, int] = field(default_factory=dict)
    # Where the draft comes from, for errors to say (e.g. a minutes file's table): an input
    # error about its payload names ``where field``.
    where: str = ""
    # Set by Ledger.append, not by callers: the clear values of the payload's personal fields
    # (the payload then holds their commitments), and those a redaction erases.
    personal: tuple[personal.Held, ...] = ()
    erase: tuple[tuple[int, str], ...] = ()

    def resolved(self, seqs: Sequence[int]) -> dict[str, Any]:
        if not self.links:
            return self.payload
        return {**self.payload, **{name: seqs[i] for name, i in self.links.items()}}
