"""Docs that cannot drift: the CLI reference is the live --help, the roles table is the code's,
the Python examples of the docs that teach the library run.

Regenerate the CLI reference with: uv run python tests/test_docs.py
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer.main

from ledger.cli import app, main
from ledger.core.catalogue import SIGNING_ROLES

ROOT = Path(__file__).resolve().parents[1]


def _commands(command: Any, path: list[str]) -> Iterator[list[str]]:
    yield path
    for name, sub in sorted((getattr(command, "commands", None) or {}).items()):
        yield from _commands(sub, [*path, name])


# Every command and group, from the app itself: none can be left out of the reference.
COMMANDS = list(_commands(typer.main.get_command(app), []))


def _help(args: list[str]) -> str:
    out = io.StringIO()
    os.environ["COLUMNS"] = "100"
    with contextlib.redirect_stdout(out):
        assert main([*args, "--help"]) == 0
    return out.getvalue()


def cli_reference() -> str:
    parts = [
        "# CLI reference\n\nGenerated from `--help` by `uv run python tests/test_docs.py`; "
        "`tests/test_docs.py` fails when it is stale.\n"
    ]
    for args in COMMANDS:
        parts.append(f"\n## ledger {' '.join(args)}".rstrip() + "\n\n```\n" + _help(args) + "```\n")
    return "".join(parts)


def test_cli_reference_is_current() -> None:
    assert (ROOT / "docs" / "CLI.md").read_text() == cli_reference(), (
        "docs/CLI.md is stale: run uv run python tests/test_docs.py"
    )


def test_every_command_has_help_text() -> None:
    for args in COMMANDS[1:]:
        text = _help(args)
        summary = text.split("\n\n")[1].strip()
        assert summary and not summary.startswith("Options"), args


def test_roles_table_matches_the_code() -> None:
    doc = (ROOT / "docs" / "ROLES.md").read_text()
    table = doc.split("<!-- roles-table -->")[1].split("<!-- /roles-table -->")[0]
    rows = dict(re.findall(r"^\| `(\w+)` \| ([a-z, ]+) \|$", table, re.MULTILINE))
    assert {t: set(r.split(", ")) for t, r in rows.items()} == {
        t: set(r) for t, r in SIGNING_ROLES.items()
    }


# The docs whose ```python blocks are whole programs, run in order in one namespace a doc.
RUNNABLE = ("STORES.md", "ARCHITECTURE.md")
FENCE = "`" * 3


def _examples(doc: str) -> list[str]:
    return re.findall(rf"^{FENCE}python\n(.*?)^{FENCE}$", doc, re.MULTILINE | re.DOTALL)


def test_the_python_examples_of_the_docs_run() -> None:
    ran = 0
    for name in RUNNABLE:
        namespace: dict[str, Any] = {}
        for example in _examples((ROOT / "docs" / name).read_text()):
            exec(compile(example, f"docs/{name}", "exec"), namespace)
            ran += 1
    assert ran >= len(RUNNABLE)


if __name__ == "__main__":
    (ROOT / "docs" / "CLI.md").write_text(cli_reference())
