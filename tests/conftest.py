"""Shared fixtures: real SQLite files in tmp folders and real PostgreSQL schemas, real keys, the
real CLI.

Tests that take the ``db`` fixture (or ``cli`` and ``opened``, which take it) run once on each
backend. PostgreSQL comes from ``LEDGER_TEST_POSTGRES_URL`` (default the local server's ``test``
database); each test gets a schema of its own, dropped afterwards. Without a server those tests
skip with the reason, unless ``LEDGER_TEST_REQUIRE_POSTGRES=1`` (set by .ci/run), where they
fail.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from shared import shared_dir

from ledger.app import commands, keyfiles
from ledger.cli import main
from ledger.core import keys
from ledger.core.draft import Draft
from ledger.core.envelope import Envelope, entry_bytes, parse_entry

SHARED = shared_dir()

# Where the environment forbids bytecode files (PYTHONDONTWRITEBYTECODE, which some machines set
# to keep checkouts clean), every process a test starts compiles the project and its libraries
# afresh: 0.4 s more a start, measured. The processes the tests start keep their bytecode in a
# cache of their own instead, outside the checkout.
if os.environ.pop("PYTHONDONTWRITEBYTECODE", None):
    os.environ.setdefault(
        "PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / "coop-ledger-test-bytecode")
    )


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


# What a subprocess needs to reach the store of the running test's ``db`` (PostgreSQL's URL).
_backend_env: dict[str, str] = {}


def run_subprocess(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Result:
    """The real ``ledger`` command, as a separate process."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("LEDGER_URL", None)
    full_env.pop("LEDGER_ID", None)
    full_env.update(_backend_env)
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


def run_here(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Result:
    """The ``ledger`` command run in this process, as ``run_subprocess`` runs it in another
    (same folder, same environment rules): the exit code and output are the same, without a
    Python start and its imports (half a second with no bytecode cache). The CLI's contract
    as a process (its exit codes, ``python -m ledger``) keeps subprocess tests of its own
    (tests/test_cli.py)."""
    names = ["LEDGER_URL", "LEDGER_ID", "LEDGER_PASSPHRASE", *_backend_env, *(env or {})]
    saved = {name: os.environ.get(name) for name in names}
    here = Path.cwd()
    out, err = io.StringIO(), io.StringIO()
    try:
        for name in ("LEDGER_URL", "LEDGER_ID", "LEDGER_PASSPHRASE"):
            os.environ.pop(name, None)
        os.environ.update(_backend_env)
        os.environ.update(env or {})
        os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        os.chdir(here)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli(
    db: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """The CLI in this process (fast), working in ``db.folder`` on the store ``db``."""
    monkeypatch.chdir(db.folder)
    monkeypatch.delenv("LEDGER_URL", raising=False)
    monkeypatch.delenv("LEDGER_ID", raising=False)
    monkeypatch.delenv("LEDGER_PASSPHRASE", raising=False)
    for name, value in db.env.items():
        monkeypatch.setenv(name, value)

    def invoke(*args: str) -> Result:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke


def metric_args(
    key: Path | str, value: str, *, name: str = "members", unit: str = "n", year: str = "2025"
) -> list[str]:
    """``ledger record metric …`` as arguments: the event most tests need one of."""
    return ["record", "metric", "--year", year, "--name", name, "--value", value, "--unit",
            unit, "--key", str(key)]  # fmt: skip


def forge_append(db: Database, key_path: Path, *, seq_offset: int = 1) -> int:
    """Append an event signed by ``key_path`` right after the head, chain and all correct."""
    head = parse_entry(db.rows()[-1][2])
    last = head.envelope
    key = keyfiles.load_signing_key(key_path, lambda p: b"")
    env = Envelope(
        ledger=last.ledger,
        seq=last.seq + seq_offset,
        prev=head.id,
        type="MetricSubmitted",
        schema=1,
        effective="2025-12-31",
        recorded_at=last.recorded_at,
        signer=key.public.key_id,
        payload={"year": 2025, "name": "forged", "value": "1", "unit": "EUR"},
    )
    data = entry_bytes(env, key.sign(env.signing_input()))
    db.execute(
        (
            "INSERT INTO stored_events (originator_id, originator_version, topic, state) "
            "VALUES (?,?,?,?)",
            (last.ledger.replace("-", ""), env.seq, env.type, data),
        )
    )
    return env.seq


def make_key(folder: Path, name: str) -> Path:
    path = folder / f"{name.lower().replace(' ', '-')}.key"
    keyfiles.write_key_files(keys.generate(name), path, None)
    return path


@pytest.fixture
def opened(tmp_path: Path, cli: Callable[..., Result], db: Database) -> dict[str, Any]:
    """A ledger with a founder (admin+secretary), a board member and a treasurer, and 3 figures.

    Built through the library (what ``init``, ``signer add`` and ``record metric`` call), in a
    fiftieth of the time six CLI calls take; the CLI's own path is tested on its own
    (tests/test_cli.py, tests/test_record.py)."""
    founder, board, treasurer = (make_key(tmp_path, n) for n in ("Founder", "Board", "Treasurer"))
    load = functools.partial(keyfiles.load_signing_key, passphrase=lambda path: b"")
    admin = load(founder)
    ledger = commands.open_ledger(db.location, "SmartCoop", "0896.755.397", admin)
    try:
        for path, name in ((board, "Board"), (treasurer, "Treasurer")):
            public = keyfiles.load_public_key(Path(f"{path}.pub"))
            commands.enrol_signer(ledger, admin, public, name, [name.lower()])
        figures = (("turnover", "198000000"), ("loans", "219949"), ("members", "21585"))
        for name, value in figures:
            payload = {"year": 2025, "name": name, "value": value, "unit": "EUR"}
            ledger.append(load(treasurer), [Draft("MetricSubmitted", payload)])
    finally:
        ledger.close()
    return {
        "founder": founder,
        "board": board,
        "treasurer": treasurer,
        "db": db,
    }


POSTGRES_URL = os.environ.get(
    "LEDGER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("LEDGER_TEST_REQUIRE_POSTGRES") == "1"
Statement = tuple[str, tuple[object, ...]]


@functools.cache
def postgres_problem() -> str | None:
    """Why the test server cannot be used, or None when it can."""
    try:
        import psycopg

        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except Exception as e:  # any reason at all is a reason to skip (or fail, in CI)
        return f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"
    return None


def need_postgres() -> None:
    problem = postgres_problem()
    if problem is None:
        return
    message = f"no PostgreSQL at {POSTGRES_URL} ({problem}); set LEDGER_TEST_POSTGRES_URL"
    if REQUIRE_POSTGRES:
        pytest.fail(f"LEDGER_TEST_REQUIRE_POSTGRES=1 and {message}", pytrace=False)
    pytest.skip(message)


@dataclass
class Database:
    """One store of the backend under test, and what an attacker with database access can do
    to it. SQL is written with ``?`` placeholders and runs on either backend."""

    backend: str
    folder: Path  # where commands run (keys, exports)
    target: str  # what --ledger / LEDGER_URL says
    schema: str = ""

    @property
    def env(self) -> dict[str, str]:
        """Environment for a subprocess run in ``folder``: SQLite's default path needs none."""
        return {"LEDGER_URL": self.target} if self.backend == "postgres" else {}

    @property
    def location(self) -> str:
        """The target as it reads from any folder."""
        return str(self.folder / self.target) if self.backend == "sqlite" else self.target

    def _connect(self) -> Any:
        if self.backend == "sqlite":
            return sqlite3.connect(self.folder / self.target)
        import psycopg

        c = psycopg.connect(POSTGRES_URL)
        c.execute(f'SET search_path TO "{self.schema}"')
        return c

    def execute(self, *statements: Statement) -> None:
        c = self._connect()
        try:
            for sql, params in statements:
                c.execute(sql if self.backend == "sqlite" else sql.replace("?", "%s"), params)
            c.commit()
        finally:
            c.close()

    def refusal(self, sql: str) -> str:
        """The database's error for ``sql``; fails the test when it is accepted."""
        c = self._connect()
        try:
            c.execute(sql)
        except Exception as e:
            return str(e)
        finally:
            c.rollback()
            c.close()
        raise AssertionError(f"the database accepted {sql!r}")

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """The rows of one SELECT (``?`` marks parameters, on either backend), as tuples."""
        c = self._connect()
        try:
            found = c.execute(
                sql if self.backend == "sqlite" else sql.replace("?", "%s"), params
            ).fetchall()
        finally:
            c.close()
        return [tuple(row) for row in found]

    def rows(self) -> list[tuple[int, str, bytes]]:
        found = self.query(
            "SELECT originator_version, topic, state FROM stored_events "
            "ORDER BY originator_id, originator_version"
        )
        return [(v, t, bytes(s)) for v, t, s in found]

    def tamper(self, *statements: Statement) -> None:
        """Edit the database as an attacker would: drop the append-only triggers first."""
        drops = [
            (
                f"DROP TRIGGER IF EXISTS {table}_no_{action}"
                + ("" if self.backend == "sqlite" else f" ON {table}"),
                (),
            )
            for table in ("stored_events", "merkle_nodes")
            for action in ("update", "delete")
        ]
        self.execute(*drops, *statements)

    def sibling(self, name: str) -> Database:
        """Another, empty store of the same backend, commands run in folder/name."""
        folder = self.folder / name
        folder.mkdir()
        if self.backend == "sqlite":
            return Database("sqlite", folder, "ledger.db")
        return _postgres_database(folder)


def _postgres_database(folder: Path) -> Database:
    import psycopg

    schema = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as c:
        c.execute(f'CREATE SCHEMA "{schema}"')
    _schemas.append(schema)
    return Database("postgres", folder, f"{POSTGRES_URL}?schema={schema}", schema)


_schemas: list[str] = []


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty store on each backend: ledger.db in tmp_path, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield Database("sqlite", tmp_path, "ledger.db")
        return
    need_postgres()
    database = _postgres_database(tmp_path)
    _backend_env.update(database.env)
    yield database
    _backend_env.clear()
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as c:
        while _schemas:
            c.execute(f'DROP SCHEMA IF EXISTS "{_schemas.pop()}" CASCADE')


# For tests about the SQLite file itself (copying it, its default path): the db fixture's
# PostgreSQL run would test nothing more.
sqlite_only = pytest.mark.parametrize("db", ["sqlite"], indirect=True)


def db_rows(path: Path) -> list[tuple[int, str, bytes]]:
    """The events of a SQLite file, in order."""
    return Database("sqlite", path.parent, path.name).rows()


def tamper(path: Path, *statements: Statement) -> None:
    """Edit a SQLite file as an attacker would (see ``Database.tamper``)."""
    Database("sqlite", path.parent, path.name).tamper(*statements)
