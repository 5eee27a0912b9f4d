"""Scenarios: a secretary's CLI calls kept in a text file, one per line, replayed in order.

Lines are split like a shell would (quotes, no expansion); ``#`` starts a comment (outside
quotes); ``{dir}`` stands for the folder the scenario is replayed into, ``{scenario}`` for the
folder holding the scenario file (its input files: statutes, minutes, figures).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from ledger.resources import data_dir


@dataclass(frozen=True, slots=True)
class Step:
    line: int
    args: list[str]


def parse(text: str, folder: Path, home: Path | None = None) -> list[Step]:
    """The steps of a scenario; raises ``ValueError`` naming the line of bad quoting."""
    steps = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            line = line.replace("{dir}", shlex.quote(str(folder)))
            if home is not None:
                line = line.replace("{scenario}", shlex.quote(str(home)))
            args = shlex.split(line, comments=True)
        except ValueError as e:
            raise ValueError(f"scenario line {number}: {e}") from e
        steps.append(Step(number, args))
    return steps


def smartcoop() -> Path:
    """The SmartCoop history rebuilt from the seed report."""
    return data_dir("cli") / "smartcoop" / "scenario.txt"
