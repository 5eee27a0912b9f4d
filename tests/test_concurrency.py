"""Writers racing for the head: the loser re-reads, re-signs and retries; the chain never forks
(on SQLite and on PostgreSQL)."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import run_subprocess

from ledger.app import keyfiles
from ledger.chain.ledger import Ledger
from ledger.chain.verify import verify_ledger
from ledger.core.draft import Draft
from ledger.store import open_store


def _writer(db: str, key_path: str, who: int, count: int) -> None:
    key = keyfiles.load_signing_key(Path(key_path), lambda p: b"")
    ledger = Ledger.open(db)
    for i in range(count):
        payload = {"year": 2025, "name": f"w{who}", "value": str(i), "unit": "n"}
        ledger.append(key, [Draft("MetricSubmitted", payload)])
    ledger.close()


@pytest.mark.parametrize("writers", [2, 4])
def test_processes_appending_at_once_never_fork_the_chain(
    opened: dict[str, Any], writers: int
) -> None:
    count = 25
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(
            target=_writer, args=(opened["db"].location, str(opened["treasurer"]), w, count)
        )
        for w in range(writers)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    rows = opened["db"].rows()
    assert [r[0] for r in rows] == list(range(1, 7 + writers * count))
    store = open_store(opened["db"].location, read_only=True)
    [ledger_id] = store.ledgers()
    result = verify_ledger(store, ledger_id)
    assert result.ok, result.failures[:3]
    assert result.events == 6 + writers * count
    names = [r[2] for r in rows]
    for w in range(writers):
        for i in range(count):
            assert any(
                f'"name":"w{w}"'.encode() in n and f'"value":"{i}"'.encode() in n for n in names
            )


def test_cli_processes_at_once(opened: dict[str, Any]) -> None:
    db = opened["db"]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from ledger.cli import main\n"
                "for i in range(5): assert main(['record','metric','--year','2025',"
                f"'--name','c{w}',"
                "'--value',str(i),'--unit','n','--key',sys.argv[1]]) == 0",
                str(opened["treasurer"]),
            ],
            cwd=db.folder,
            env={**os.environ, **db.env},
        )
        for w in range(3)
    ]
    assert [p.wait(120) for p in procs] == [0, 0, 0]
    assert len(opened["db"].rows()) == 6 + 15
    assert run_subprocess("verify", cwd=db.folder, env=db.env).code == 0
