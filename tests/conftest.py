"""Shared fixtures: real SQLite files in tmp folders, real keys, the real CLI."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from shared import shared_dir

from ledger import keys
from ledger.cli import main

SHARED = shared_dir()


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


def run_subprocess(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Result:
    """The real ``ledger`` command, as a separate process."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("LEDGER_URL", None)
    full_env.pop("LEDGER_PASSPHRASE", None)
    full_env.update(env or {})
    done = subprocess.run(
        [sys.executable, "-m", "ledger", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return Result(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """The CLI in this process (fast), working in ``tmp_path``."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEDGER_URL", raising=False)
    monkeypatch.delenv("LEDGER_PASSPHRASE", raising=False)

    def invoke(*args: str) -> Result:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke


def make_key(folder: Path, name: str) -> Path:
    path = folder / f"{name.lower().replace(' ', '-')}.key"
    keys.write_key_files(keys.generate(name), path, None)
    return path


@pytest.fixture
def opened(tmp_path: Path, cli: Callable[..., Result]) -> dict[str, Path]:
    """A ledger with a founder (admin+secretary), a board member and a treasurer, and 3 figures."""
    founder, board, treasurer = (make_key(tmp_path, n) for n in ("Founder", "Board", "Treasurer"))
    assert (
        cli(
            "init", "--enterprise", "SmartCoop", "--number", "0896.755.397", "--key", str(founder)
        ).code
        == 0
    )
    assert (
        cli(
            "signer",
            "add",
            "--pub",
            f"{board}.pub",
            "--name",
            "Board",
            "--role",
            "board",
            "--key",
            str(founder),
        ).code
        == 0
    )
    assert (
        cli(
            "signer",
            "add",
            "--pub",
            f"{treasurer}.pub",
            "--name",
            "Treasurer",
            "--role",
            "treasurer",
            "--key",
            str(founder),
        ).code
        == 0
    )
    for name, value in (("turnover", "198000000"), ("loans", "219949"), ("members", "21585")):
        assert (
            cli(
                "record",
                "metric",
                "--year",
                "2025",
                "--name",
                name,
                "--value",
                value,
                "--unit",
                "EUR",
                "--key",
                str(treasurer),
            ).code
            == 0
        )
    return {
        "founder": founder,
        "board": board,
        "treasurer": treasurer,
        "db": tmp_path / "ledger.db",
    }


def db_rows(db: Path) -> list[tuple[int, str, bytes]]:
    with sqlite3.connect(db) as c:
        return [
            (v, t, bytes(s))
            for v, t, s in c.execute(
                "SELECT originator_version, topic, state FROM stored_events "
                "ORDER BY originator_version"
            )
        ]


def tamper(db: Path, *statements: tuple[str, tuple[object, ...]]) -> None:
    """Edit the database file as an attacker would: drop the append-only triggers first."""
    c = sqlite3.connect(db)
    try:
        for table in ("stored_events", "merkle_nodes"):
            for action in ("update", "delete"):
                c.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
        for sql, params in statements:
            c.execute(sql, params)
        c.commit()
    finally:
        c.close()
