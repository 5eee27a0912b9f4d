"""Where the shared material is: ``../shared`` beside the checkout (CI, developers), else the copy
in ``tests/fixtures/shared`` (a fresh clone); ``LEDGER_SHARED_DIR`` overrides both."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BESIDE = REPO.parent / "shared"
COPY = Path(__file__).resolve().parent / "fixtures" / "shared"


def shared_dir() -> Path:
    if "LEDGER_SHARED_DIR" in os.environ:
        return Path(os.environ["LEDGER_SHARED_DIR"])
    return BESIDE if (BESIDE / "vectors").is_dir() else COPY
