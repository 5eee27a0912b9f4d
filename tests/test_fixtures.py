"""The copy of the shared material in tests/fixtures must be the shared material itself."""

from __future__ import annotations

import pytest
from shared import BESIDE, COPY


def test_copy_matches_the_shared_folder() -> None:
    if not (BESIDE / "vectors").is_dir():
        pytest.skip("no ../shared beside this checkout: the copy is all there is")
    for part in ("vectors", "seed"):
        originals = sorted(p.relative_to(BESIDE) for p in (BESIDE / part).rglob("*") if p.is_file())
        copies = sorted(p.relative_to(COPY) for p in (COPY / part).rglob("*") if p.is_file())
        assert copies == originals
        for rel in originals:
            assert (COPY / rel).read_bytes() == (BESIDE / rel).read_bytes(), rel
