"""Export bundles: one self-contained file with a ledger's every event, for offline audit.

Format ``coop-ledger/bundle/v1`` (docs/FORMAT.md): UTF-8 text, one JSON document a line. The
first line is the header ``{"bundle":"coop-ledger/bundle/v1","ledger":…,"origin":…,"root":…,
"size":…}`` (canonical JSON); each following line is one entry's canonical bytes, event 1 first.
Checkpoints and their cosignatures travel inside the ledger, as ``CheckpointRecorded`` events.
Nothing in a bundle is trusted: the header is checked against what the entries prove.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from uuid import UUID

from ledger import canonical
from ledger.errors import InputError
from ledger.store import Row
from ledger.verify import bundle_topic

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
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    count = 0
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(head + b"\n")
            for entry in entries:
                f.write(entry + b"\n")
                count += 1
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
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


def rows(f: IO[bytes]) -> Iterator[Row]:
    """The entries after the header, as rows numbered by their position (event 1 first)."""
    seq = 0
    while (line := _line(f, seq + 2)) is not None:
        seq += 1
        yield Row(seq=seq, topic=bundle_topic(line) or "?", entry=line)
