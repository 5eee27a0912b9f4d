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


DEFAULT = "smartcoop"
FILE = "scenario.txt"


def names() -> list[str]:
    """The scenarios shipped under ``cli/``: each folder there holding a ``scenario.txt``."""
    return sorted(p.parent.name for p in data_dir("cli").glob(f"*/{FILE}"))


def named(name: str) -> Path:
    """The scenario file of ``name``, one of ``names()``; ``KeyError`` for any other name (a
    path such as ``../x`` included: only the folders listed are scenarios)."""
    if name not in names():
        raise KeyError(name)
    return data_dir("cli") / name / FILE


def title(script: Path) -> str:
    """What a scenario is about, as its first line says (``# SmartCoop: ...`` gives
    ``SmartCoop``); the folder's name when that line is not of this form."""
    first = script.read_text(encoding="utf-8").partition("\n")[0]
    head, colon, _ = first.removeprefix("#").partition(":")
    return head.strip() if first.startswith("#") and colon and head.strip() else script.parent.name


def smartcoop() -> Path:
    """The SmartCoop history rebuilt from the seed report."""
    return named(DEFAULT)
