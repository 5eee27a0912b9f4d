"""Hostile bundles handed to ``ledger audit`` (the real command, in a subprocess with its
address space capped): each is rejected with its reason in one line, exit 1 or 2, within the
subprocess timeout, never a traceback or an internal error."""

from __future__ import annotations

import contextlib
import os
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import Result, make_key, metric_args, sqlite_only

from ledger.cli import main

MEMORY_CAP = 1024 * 1024 * 1024  # 1 GiB of address space: Python, OpenSSL and one 8 MiB line


def cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def audit(folder: Path, bundle: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    return subprocess.run(
        [sys.executable, "-m", "ledger", "audit", str(bundle), "--trust", "council.key.pub"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=cap_memory,
    )


def entry_lines(bundle: Path) -> list[bytes]:
    return bundle.read_bytes().splitlines(keepends=True)


HOSTILE: dict[str, Callable[[list[bytes]], bytes]] = {
    "a line over 8 MiB": lambda ls: ls[0] + b'{"' + b"a" * (9 * 1024 * 1024) + b'":1}\n',
    "100 000 nested arrays": lambda ls: ls[0] + b"[" * 100_000 + b"]" * 100_000 + b"\n",
    "a duplicate key": lambda ls: (
        ls[0]
        + ls[1].replace(b'{"effective"', b'{"effective":"2020-01-01","effective"', 1)
        + b"".join(ls[2:])
    ),
    "whitespace in an entry": lambda ls: ls[0] + ls[1].replace(b'":', b'": ', 1) + b"".join(ls[2:]),
    "an escaped character": lambda ls: (
        ls[0] + ls[1].replace(b"a", b"\\u0061", 1) + b"".join(ls[2:])
    ),
    "a float": lambda ls: ls[0] + ls[1].replace(b'"v":1', b'"v":1.0', 1) + b"".join(ls[2:]),
    "an unknown bundle version": lambda ls: (
        ls[0].replace(b"bundle/v1", b"bundle/v2") + b"".join(ls[1:])
    ),
    "an unknown entry version": lambda ls: (
        ls[0] + ls[1].replace(b'"v":1', b'"v":2', 1) + b"".join(ls[2:])
    ),
    "a file cut mid-line": lambda ls: b"".join(ls)[: len(b"".join(ls)) - 40],
    "a header alone": lambda ls: ls[0],
    "nothing at all": lambda ls: b"",
    "NUL bytes": lambda ls: ls[0] + b"\x00" * 4096 + b"\n",
    "invalid UTF-8": lambda ls: ls[0] + ls[1].replace(b"Smart", b"\xff\xfe", 1) + b"".join(ls[2:]),
    "a header with a huge size": lambda ls: (
        ls[0].replace(b'"size":', b'"size":9' + b"9" * 400 + b',"x":', 1) + b"".join(ls[1:])
    ),
}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[bytes]]:
    folder = tmp_path_factory.mktemp("hostile")
    founder = make_key(folder, "Founder")
    council = make_key(folder, "Council")
    calls = [
        ["init", "--enterprise", "SmartCoop", "--number", "0896.755.397", "--key", str(founder)],
        ["signer", "add", "--pub", f"{council}.pub", "--name", "Council", "--role", "council",
         "--key", str(founder)],
        metric_args(founder, "7"),
        ["export", "--out", "bundle"],
    ]  # fmt: skip
    with contextlib.chdir(folder):
        for args in calls:
            assert main(args) == 0, args
    return folder, entry_lines(folder / "bundle")


def test_the_intact_bundle_passes(exported: tuple[Path, list[bytes]]) -> None:
    folder, _ = exported
    done = audit(folder, folder / "bundle")
    assert done.returncode == 0, done.stderr


@sqlite_only
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_bundle_is_rejected_with_its_reason(
    exported: tuple[Path, list[bytes]], case: str, db: Any, cli: Callable[..., Result]
) -> None:
    folder, lines = exported
    bad = folder / f"bad-{sorted(HOSTILE).index(case)}"
    bad.write_bytes(HOSTILE[case](lines))
    done = audit(folder, bad)
    said = (done.stdout + done.stderr).strip().splitlines()
    assert done.returncode in (1, 2), (case, done.returncode, done.stderr[-2000:])
    assert len(said) == 1, (case, said[:5])
    assert "internal error" not in said[0] and "Traceback" not in said[0]
    assert said[0].startswith(("error: ", "FAILED: event ")), said[0]
    # A bundle this broken cannot be imported either; the store stays as it was.
    imported = cli("--ledger", str(folder / "copy.db"), "import", str(bad))
    assert imported.code in (1, 2), (case, imported)
    assert not (folder / "copy.db").exists()
