"""Many ledgers in one store, import between backends, audit of a whole store, read-only roles,
and the test harness's own promise that CI cannot skip PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
from conftest import (
    POSTGRES_URL,
    Database,
    Result,
    metric_args,
    need_postgres,
    run_subprocess,
)

from ledger.store import open_store

SECOND = "0123.456.749"
READER = "coop_ledger_test_reader"


def add_second_ledger(cli: Callable[..., Result], founder: Path) -> str:
    result = cli("init", "--enterprise", "Autre Coop", "--number", SECOND, "--key", str(founder))
    assert result.code == 0, result.err
    assert "choose this one with --ledger-id" in result.err
    return result.out.strip()


def metric(cli: Callable[..., Result], key: Path, value: str, *select: str) -> Result:
    return cli(*select, *metric_args(key, value))


def test_a_store_holds_many_ledgers(opened: dict[str, Any], cli: Callable[..., Result]) -> None:
    second = add_second_ledger(cli, opened["founder"])
    listed = [orjson.loads(line) for line in cli("ledgers", "--json").out.splitlines()]
    assert [(x["number"], x["events"]) for x in listed] == [("0896.755.397", 6), (SECOND, 1)]
    assert listed[1]["ledger"] == second and listed[1]["enterprise"] == "Autre Coop"
    assert set(listed[0]) == {"ledger", "enterprise", "number", "events", "head"}
    text = cli("ledgers").out.splitlines()
    assert len(text) == 2 and text[1].startswith(f"{second}  {SECOND}")

    ambiguous = cli("verify")
    assert ambiguous.code == 2
    assert ambiguous.err.strip().endswith(
        "holds 2 ledgers; choose one with --ledger-id ID or NUMBER (see: ledger ledgers)"
    )
    # By number (any spelling), by id (with or without dashes), or from the environment.
    assert metric(cli, opened["founder"], "7", "--ledger-id", "BE0123456749").code == 0
    assert cli("--ledger-id", second.replace("-", ""), "verify").code == 0
    assert cli("--ledger-id", "0896.755.397", "verify").out.startswith("ok: 6 events")
    missing = cli("--ledger-id", "0417.497.106", "verify")
    assert missing.code == 2 and "no ledger '0417.497.106'" in missing.err

    again = cli("init", "--enterprise", "Dup", "--number", SECOND, "--key", str(opened["founder"]))
    assert again.code == 2 and "init refuses to open a second one" in again.err
    listed = [orjson.loads(line) for line in cli("ledgers", "--json").out.splitlines()]
    assert {x["number"]: x["events"] for x in listed} == {"0896.755.397": 6, SECOND: 2}


def test_audit_all_names_the_broken_ledger(
    opened: dict[str, Any], cli: Callable[..., Result]
) -> None:
    db: Database = opened["db"]
    second = add_second_ledger(cli, opened["founder"])
    assert metric(cli, opened["founder"], "1", "--ledger-id", second).code == 0
    run = run_subprocess("audit", "--all", cwd=db.folder, env=db.env)
    assert run.code == 0, run
    lines = run.out.splitlines()
    assert len(lines) == 2 and all(line.startswith("ok ") for line in lines)
    assert "2 of 2 ledgers intact" in run.err

    db.tamper(
        (
            "UPDATE stored_events SET state = ? WHERE originator_id = ? AND originator_version = 2",
            (b"{}", uuid.UUID(second).hex),
        )
    )
    broken = run_subprocess("audit", "--all", "--json", cwd=db.folder, env=db.env)
    assert broken.code == 1
    reports = {r["ledger"]: r for r in map(orjson.loads, broken.out.splitlines())}
    assert reports[second]["ok"] is False and reports[second]["failures"][0]["seq"] == 2
    assert reports[second]["number"] == SECOND
    [first] = [r for k, r in reports.items() if k != second]
    assert first["ok"] is True and first["events"] == 6


def test_audit_needs_a_bundle_or_all(cli: Callable[..., Result], opened: dict[str, Any]) -> None:
    assert "give a bundle to audit, or --all" in cli("audit").err
    both = cli("audit", "--all", "some.bundle")
    assert both.code == 2 and "give no BUNDLE" in both.err
    no_trust = cli("audit", "some.bundle")
    assert no_trust.code == 2 and "--trust" in no_trust.err


@pytest.fixture
def postgres() -> Iterator[Database]:
    """A PostgreSQL store beside whatever backend the test's ``db`` is."""
    need_postgres()
    schema = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as c:
        c.execute(f'CREATE SCHEMA "{schema}"')
    yield Database("postgres", Path("."), f"{POSTGRES_URL}?schema={schema}", schema)
    with psycopg.connect(POSTGRES_URL, autocommit=True) as c:
        c.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_import_moves_a_ledger_between_backends_byte_for_byte(
    opened: dict[str, Any], cli: Callable[..., Result], postgres: Database, tmp_path: Path
) -> None:
    here: Database = opened["db"]
    there = postgres.target if here.backend == "sqlite" else str(tmp_path / "copy.db")
    assert cli("export", "--out", "b1").code == 0
    imported = cli("--ledger", there, "import", "b1")
    assert imported.code == 0, imported.err
    assert "imported 6 events" in imported.err
    assert cli("--ledger", there, "verify").code == 0
    # The copy grows on its side; importing it back adds just what the original lacks.
    assert metric(cli, opened["treasurer"], "8", "--ledger", there).code == 0
    assert cli("--ledger", there, "export", "--out", "b2").code == 0
    back = cli("import", "b2")
    assert back.code == 0 and "imported 1 events" in back.err and "(now 7)" in back.err
    assert cli("import", "b2").err.startswith("imported 0 events")
    mine = cli("verify", "--json")
    theirs = cli("--ledger", there, "verify", "--json")
    assert orjson.loads(mine.out) == orjson.loads(theirs.out)
    assert stored(here.location) == stored(there)


def stored(target: str) -> list[tuple[int, str, bytes]]:
    store = open_store(target, read_only=True)
    try:
        [ledger] = store.ledgers()
        return [(r.seq, r.topic, r.entry) for r in store.read(ledger)]
    finally:
        store.close()


def test_import_refuses_a_tampered_bundle_and_a_fork(
    opened: dict[str, Any], cli: Callable[..., Result], tmp_path: Path
) -> None:
    db: Database = opened["db"]
    assert cli("export", "--out", "b").code == 0
    (tmp_path / "bad").write_bytes((tmp_path / "b").read_bytes().replace(b'"21585"', b'"21586"'))
    other = db.sibling("other")
    refused = cli("--ledger", other.location, "import", str(tmp_path / "bad"))
    assert refused.code == 1 and refused.err.startswith("error: event 6: bad-signature")
    # Refused before the store is even opened: no file, no tables.
    if other.backend == "sqlite":
        assert not (other.folder / other.target).exists()
    else:
        assert "does not exist" in other.refusal("SELECT 1 FROM stored_events")
    # A fork: the same ledger, grown differently on each side, does not merge.
    assert cli("--ledger", other.location, "import", "b").code == 0
    assert metric(cli, opened["treasurer"], "1").code == 0
    assert metric(cli, opened["treasurer"], "2", "--ledger", other.location).code == 0
    assert cli("--ledger", other.location, "export", "--out", "fork").code == 0
    fork = cli("import", "fork")
    assert fork.code == 1 and "fork" in fork.err
    assert len(db.rows()) == 7


@pytest.fixture
def reader_role(postgres: Database) -> Iterator[str]:
    """A login role of its own (tests may run at once), dropped afterwards with its grants."""
    role = f"{READER}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as c:
        c.execute(f"CREATE ROLE {role} LOGIN")
    yield role
    with psycopg.connect(POSTGRES_URL, autocommit=True) as c:
        c.execute(f"DROP OWNED BY {role}")
        c.execute(f"DROP ROLE {role}")


def grant_reading(role: str, db: Database) -> None:
    with psycopg.connect(POSTGRES_URL, autocommit=True) as c:
        c.execute(f'GRANT USAGE ON SCHEMA "{db.schema}" TO {role}')
        c.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{db.schema}" TO {role}')


def test_read_only_role_serves_reading_commands(
    opened: dict[str, Any], cli: Callable[..., Result], postgres: Database, reader_role: str
) -> None:
    db: Database = opened["db"]
    if db.backend != "postgres":
        assert cli("export", "--out", "b").code == 0
        assert cli("--ledger", postgres.target, "import", "b").code == 0
        db = postgres
    grant_reading(reader_role, db)
    reader = db.target.replace("postgresql://postgres@", f"postgresql://{reader_role}@")
    assert reader != db.target
    for args in (
        ("verify",),
        ("audit", "--all"),
        ("compliance", "--year", "2025", "--json"),
        ("report", "--year", "2025", "--format", "md", "--out", "r.md"),
        ("log",),
    ):
        result = cli("--ledger", reader, *args)
        assert result.code == 0, (args, result.err)
    denied = metric(cli, opened["treasurer"], "9", "--ledger", reader)
    assert denied.code == 3 and denied.err.startswith("error: cannot")
    assert len(denied.err.strip().splitlines()) == 1


def test_unreachable_server_is_an_environment_failure(tmp_path: Path) -> None:
    result = run_subprocess(
        "--ledger", "postgresql://postgres@127.0.0.1:1/test", "verify", cwd=tmp_path
    )
    assert result.code == 3
    assert result.err.startswith("error: cannot connect to postgresql://postgres@127.0.0.1:1/test")
    assert len(result.err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("postgresql://h/db?sslmode=x", "unknown parameter 'sslmode'"),
        ("postgresql://h/db?schema=a;drop", "schema 'a;drop'"),
        ("postgresql://h:port/db", "port"),
    ],
)
def test_bad_urls_are_input_errors(url: str, field: str, tmp_path: Path) -> None:
    result = run_subprocess("--ledger", url, "verify", cwd=tmp_path)
    assert result.code == 2 and field in result.err


def test_ci_cannot_skip_postgresql(tmp_path: Path) -> None:
    # The harness itself: with LEDGER_TEST_REQUIRE_POSTGRES=1 an unreachable server fails the
    # PostgreSQL tests instead of skipping them; without it they skip, saying why.
    here = Path(__file__).parent
    for name in ("conftest.py", "shared.py"):
        shutil.copy(here / name, tmp_path / name)
    probe = tmp_path / "test_probe.py"
    probe.write_text("def test_probe(db):\n    assert db.backend in ('sqlite', 'postgres')\n")
    base = {"LEDGER_TEST_POSTGRES_URL": "postgresql://postgres@127.0.0.1:1/test"}

    def pytest_run(**env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", probe.name],
            cwd=tmp_path,
            env={**_clean_env(), **base, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )

    required = pytest_run(LEDGER_TEST_REQUIRE_POSTGRES="1")
    assert required.returncode == 1, required.stdout
    assert "1 passed, 1 error" in required.stdout
    assert "LEDGER_TEST_REQUIRE_POSTGRES=1 and no PostgreSQL at" in required.stdout
    relaxed = pytest_run(LEDGER_TEST_REQUIRE_POSTGRES="")
    assert relaxed.returncode == 0, relaxed.stdout
    assert "1 passed, 1 skipped" in relaxed.stdout and "no PostgreSQL at" in relaxed.stdout


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("LEDGER_", "PYTEST_"))}
