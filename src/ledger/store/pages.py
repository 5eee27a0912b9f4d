"""Pages of rows: what verification hands to its workers, and what an import writes a
transaction at a time."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
CHUNK = 256  # a power of two: a full page is a perfect subtree, which a verifier's worker hashes


def paged(rows: Iterable[T], size: int = CHUNK, after: int = 0) -> Iterator[list[T]]:
    """Group rows into pages of ``size`` (by default, the pages the workers take). Rows that
    follow ``after`` others: the first page is cut short so that the next ones start at a
    multiple of ``size`` (where their subtrees sit whole)."""
    page: list[T] = []
    full = size - after % size
    for row in rows:
        page.append(row)
        if len(page) == full:
            yield page
            page, full = [], size
    if page:
        yield page
