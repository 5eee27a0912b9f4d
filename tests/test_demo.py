"""The README's main command: the SmartCoop scenario replayed through the real CLI."""

from __future__ import annotations

from pathlib import Path

import orjson
from conftest import run_subprocess

from ledger.app import scenario


def test_demo_builds_and_verifies_a_ledger(tmp_path: Path) -> None:
    result = run_subprocess("demo", "--dir", "out", cwd=tmp_path)
    assert result.code == 0, result.err + result.out
    assert "verify      ok" in result.out
    for fmt in ("md", "html", "pdf"):
        report = tmp_path / "out" / f"rapport-special-2025.fr.{fmt}"
        checked = run_subprocess(
            "--ledger", "out/ledger.db", "report", "verify", str(report), cwd=tmp_path
        )
        assert checked.code == 0, checked.err
    log = run_subprocess("--ledger", "out/ledger.db", "log", "--json", cwd=tmp_path)
    events = [orjson.loads(line) for line in log.out.splitlines()]
    assert events[0]["type"] == "LedgerOpened"
    turnover = next(e for e in events if e["payload"].get("name") == "turnover")
    assert turnover["payload"]["value"] == "198000000"
    assert turnover["payload"]["qualifier"] == ">"
    again = run_subprocess("demo", "--dir", "out", cwd=tmp_path)
    assert again.code == 2 and "is not empty" in again.err


def test_default_folder_is_fresh(tmp_path: Path) -> None:
    (tmp_path / "smartcoop-demo").mkdir()
    (tmp_path / "smartcoop-demo" / "keep").write_text("mine")
    result = run_subprocess("demo", cwd=tmp_path)
    assert result.code == 0, result.err
    assert (tmp_path / "smartcoop-demo-2" / "ledger.db").is_file()
    assert (tmp_path / "smartcoop-demo" / "keep").read_text() == "mine"


def test_scenario_parsing(tmp_path: Path) -> None:
    steps = scenario.parse('# c\n\nkey new --out {dir}/k --name "A B"\n', tmp_path / "x y")
    assert [(s.line, s.args) for s in steps] == [
        (3, ["key", "new", "--out", f"{tmp_path}/x y/k", "--name", "A B"])
    ]
