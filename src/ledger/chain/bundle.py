"""Export bundles: one self-contained file with a ledger's every event, for offline audit.

Format ``coop-ledger/bundle/v1`` (docs/FORMAT.md): UTF-8 text, one JSON document a line. The
first line is the header ``{"bundle":"coop-ledger/bundle/v1","ledger":…,"origin":…,"root":…,
"size":…}`` (canonical JSON); each following line is one entry's canonical bytes, event 1 first.
Checkpoints and their cosignatures travel inside the ledger, as ``CheckpointRecorded`` events.
Nothing in a bundle is trusted: the header is checked against what the entries prove.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from uuid import UUID

from ledger.core import canonical
from ledger.core.envelope import Row, type_of
from ledger.errors import InputError
from ledger.files import replacing

MAGIC = "coop-ledger/bundle/v1"
MAX_LINE = 8 * 1024 * 1024  # a whole statute fits many times over; a hostile line does not


@dataclass(frozen=True, slots=True)
class Header:
    ledger: UUID
    origin: str
    size: int
    root: str


def write(path: Path, header: Header, entries: Iterable[bytes]) -> int:
    """Write a bundle atomically (a temporary file renamed into place); returns the events."""
    head = canonical.encode(
        {
            "bundle": MAGIC,
            "ledger": str(header.ledger),
            "origin": header.origin,
            "size": header.size,
            "root": header.root,
        }
    )
    count = 0
    with replacing(path) as f:
        f.write(head + b"\n")
        for entry in entries:
            f.write(entry + b"\n")
            count += 1
    return count


def _line(f: IO[bytes], number: int) -> bytes | None:
    line = f.readline(MAX_LINE + 1)
    if not line:
        return None
    if len(line) > MAX_LINE:
        raise InputError("bundle", f"line {number} is longer than {MAX_LINE} bytes")
    return line[:-1] if line.endswith(b"\n") else line


def read_header(f: IO[bytes]) -> Header:
    """Read and check the header line; raises ``InputError`` for anything but a v1 bundle."""
    line = _line(f, 1)
    try:
        obj = canonical.decode(line or b"")
        if obj.get("bundle") != MAGIC:
            raise ValueError(f"not a {MAGIC} file")
        return Header(UUID(obj["ledger"]), str(obj["origin"]), int(obj["size"]), str(obj["root"]))
    except (canonical.CanonicalError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise InputError("bundle", f"the first line is not a {MAGIC} header ({e})") from None


def rows(f: IO[bytes], after: int = 0) -> Iterator[Row]:
    """The entries from where ``f`` is, as rows numbered by their position: event 1 first
    after the header, event ``after + 1`` first after ``entry_at(f, _, after)``."""
    seq = after
    while (line := _line(f, seq + 2)) is not None:
        seq += 1
        yield Row(seq=seq, topic=type_of(line) or "?", entry=line)


def last_entry_at(f: IO[bytes], start: int) -> int:
    """Where the last entry's line begins, in bytes from ``start`` (the end of the header)."""
    end = f.seek(0, os.SEEK_END)
    f.seek(max(end - 1, start))
    pos = end - (f.read(1) == b"\n")
    while pos > start:
        step = min(1 << 16, pos - start)
        f.seek(pos - step)
        newline = f.read(step).rfind(b"\n")
        if newline >= 0:
            return pos - step + newline + 1 - start
        pos -= step
    return 0


def entry_at(f: IO[bytes], start: int, offset: int, seq: int) -> bytes | None:
    """The line ``offset`` bytes after ``start`` (the end of the header), said to be event
    ``seq``'s; ``rows(f, seq)`` then reads on. None past the end of the file."""
    f.seek(start + offset)
    return _line(f, seq + 1)
