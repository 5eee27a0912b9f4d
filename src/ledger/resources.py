"""Where the data folders (``events/``, ``projections/``) are: inside an installed wheel, or at the
top of a source checkout (editable install)."""

from __future__ import annotations

from pathlib import Path


def data_dir(name: str) -> Path:
    packaged = Path(__file__).parent / "_data" / name
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / name
