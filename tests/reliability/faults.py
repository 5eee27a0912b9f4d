"""Fault loops shared by ``test_faults.py`` (short, in CI) and ``bench/soak.py`` (long).

Two loops, each on any store (a SQLite file or a PostgreSQL schema):

- ``kill_loop``: a child process records metrics one at a time through the real CLI entry point
  (``ledger.cli.main``, the function ``python -m ledger`` runs) and prints a line after each one
  whose exit code was 0; the parent SIGKILLs it at a seeded random moment, then runs
  ``ledger verify`` and looks for every reported event by its payload value.
- ``writers_loop``: N such children write at once for a while; afterwards every reported event
  must be there, the chain must verify, and no child may have seen an error.

Each returns a ``Report`` whose ``violations`` must stay empty. Nothing here needs pytest, so
the soak script imports it as it is.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ledger.app import keyfiles
from ledger.chain.ledger import Ledger
from ledger.cli import main
from ledger.core import keys

# The child: one `ledger record metric` after another, in one process (a fresh interpreter per
# event would spend nearly all its time importing, and the kill would rarely land in a write).
# It prints "ready" once imported, "ok TAG I" after each exit code 0 and "fail TAG I CODE ERROR"
# otherwise; main's own output goes nowhere, so the parent reads only these lines.
_WRITER = """
import contextlib, io, sys, time
from ledger.cli import main
target, key, tag, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
print("ready", flush=True)
deadline = time.monotonic() + seconds
i = 0
while time.monotonic() < deadline:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--ledger", target, "record", "metric", "--year", "2025", "--name", tag,
                     "--value", str(i), "--unit", "n", "--key", key])
    if code == 0:
        print("ok", tag, i, flush=True)
    else:
        print("fail", tag, i, code, err.getvalue().strip().replace("\\n", " | "), flush=True)
    i += 1
"""

# Words that must never reach the user: raw driver errors and tracebacks.
RAW_ERRORS = ("Traceback", "database is locked", "internal error", "psycopg", "sqlite3.")


@dataclass(frozen=True)
class Target:
    """A store under test: ``location`` is what ``--ledger`` says, from any folder."""

    backend: str  # "sqlite" or "postgres"
    folder: Path  # where the key lives
    location: str


@dataclass
class Report:
    """What a loop did, and what went wrong (empty ``violations``: nothing)."""

    backend: str
    kills: int = 0
    children: int = 0
    reported: int = 0  # events whose success a child printed
    events: int = 0  # events in the ledger at the end
    seconds: float = 0.0
    violations: list[str] = field(default_factory=list)

    def line(self) -> str:
        verdict = "ok" if not self.violations else f"{len(self.violations)} VIOLATIONS"
        return (
            f"{self.backend}: {self.kills} kills, {self.children} writers, "
            f"{self.reported} reported events, {self.events} in the ledger, "
            f"{self.seconds:.1f} s: {verdict}"
        )


def child_env() -> dict[str, str]:
    """The environment of a child: the store comes from ``--ledger`` alone, keys have no
    passphrase."""
    env = dict(os.environ)
    for name in ("LEDGER_URL", "LEDGER_ID", "LEDGER_PASSPHRASE"):
        env.pop(name, None)
    return env


def run_cli(*args: str) -> tuple[int, str, str]:
    """``ledger ARGS`` in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def create_ledger(target: Target) -> Path:
    """A ledger in ``target`` whose founder (admin and secretary) may record metrics; returns
    the founder's key file (no passphrase)."""
    key = target.folder / "founder.key"
    keyfiles.write_key_files(keys.generate("Founder"), key, None)
    code, _, err = run_cli(
        "--ledger", target.location, "init", "--enterprise", "Faults", "--number",
        "0896.755.397", "--key", str(key),
    )  # fmt: skip
    if code != 0:
        raise RuntimeError(f"init failed ({code}): {err.strip()}")
    return key


def start_writer(target: Target, key: Path, tag: str, seconds: float) -> subprocess.Popen[str]:
    # A session of its own: the kill reaches the child and nothing else.
    return subprocess.Popen(
        [sys.executable, "-c", _WRITER, target.location, str(key), tag, str(seconds)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
        start_new_session=True,
    )


def stored_metrics(target: Target) -> list[tuple[str, str]]:
    """(name, value) of every MetricSubmitted event, in ledger order."""
    ledger = Ledger.open(target.location, read_only=True)
    try:
        return [
            (str(e.envelope.payload["name"]), str(e.envelope.payload["value"]))
            for e in ledger.entries()
            if e.envelope.type == "MetricSubmitted"
        ]
    finally:
        ledger.close()


def check_ledger(target: Target, reported: set[tuple[str, str]], report: Report) -> None:
    """``ledger verify`` must exit 0 and hold every reported event exactly once."""
    code, out, err = run_cli("--ledger", target.location, "verify")
    if code != 0:
        report.violations.append(f"verify exited {code}: {(err or out).strip()}")
    stored = stored_metrics(target)
    report.events = len(stored) + 1  # and the genesis
    missing = reported - set(stored)
    if missing:
        report.violations.append(f"{len(missing)} reported events lost, e.g. {min(missing)}")
    if len(set(stored)) != len(stored):
        report.violations.append("an event was stored twice")


def _reports(lines: list[str], tag: str, report: Report) -> set[tuple[str, str]]:
    """The events these lines of a child report; its failures become violations."""
    reported = set()
    for line in lines:
        word, _, rest = line.partition(" ")
        if word == "ok":
            name, value = rest.split(" ")
            reported.add((name, value))
        elif word == "fail":
            report.violations.append(f"{tag}: a write failed: {rest}")
    report.reported += len(reported)
    return reported


def _read_child(child: subprocess.Popen[str], tag: str, report: Report) -> set[tuple[str, str]]:
    """The events a finished (or killed) child reported; its failures become violations."""
    out, err = child.communicate(timeout=60)
    # A child killed while it printed leaves its last line cut short: only the lines it ended
    # (the newline written) are reports.
    reported = _reports(out.split("\n")[:-1], tag, report)
    raw = [w for w in RAW_ERRORS if w in err]
    if raw:
        report.violations.append(f"{tag}: {raw[0]!r} reached stderr: {err.strip()[:300]}")
    return reported


def kill_loop(
    target: Target,
    key: Path,
    *,
    kills: int,
    seed: int,
    max_delay: float = 1.0,
    reported: set[tuple[str, str]] | None = None,
) -> Report:
    """``kills`` times: start a writer, SIGKILL it a random delay after its first acknowledged
    write, then check the ledger. The delays are seeded, so a failing run can be replayed.
    ``reported`` (events reported by earlier loops on this ledger) is checked too, and grows."""
    rng = random.Random(seed)
    report = Report(target.backend)
    started = time.monotonic()
    reported = set() if reported is None else reported
    for k in range(kills):
        tag = f"s{seed}k{k}"
        child = start_writer(target, key, tag, seconds=600)
        assert child.stdout is not None
        if child.stdout.readline().strip() != "ready":
            child.kill()
            report.violations.append(f"{tag}: the writer did not start: {child.communicate()}")
            continue
        # The random moment starts after its first acknowledged write, however slow the machine
        # is to get there: a kill before any write would test nothing.
        reported.update(_reports([child.stdout.readline().strip()], tag, report))
        time.sleep(rng.uniform(0, max_delay))
        os.killpg(child.pid, signal.SIGKILL)
        reported.update(_read_child(child, tag, report))
        report.kills += 1
        report.children += 1
        check_ledger(target, reported, report)
        if report.violations:
            break  # the first one is the one to look at
    report.seconds = time.monotonic() - started
    return report


def writers_loop(
    target: Target,
    key: Path,
    *,
    writers: int,
    seconds: float,
    round_: int = 0,
    reported: set[tuple[str, str]] | None = None,
) -> Report:
    """``writers`` processes recording at once for ``seconds``; then check the ledger
    (``reported`` as in ``kill_loop``). Rounds on one ledger need distinct ``round_`` numbers:
    the payloads tell their events apart."""
    report = Report(target.backend, children=writers)
    started = time.monotonic()
    tags = [f"r{round_}w{w}" for w in range(writers)]
    children = [(tag, start_writer(target, key, tag, seconds)) for tag in tags]
    reported = set() if reported is None else reported
    for tag, child in children:
        reported.update(_read_child(child, tag, report))
        if child.returncode != 0:
            report.violations.append(f"{tag}: the writer exited {child.returncode}")
    check_ledger(target, reported, report)
    report.seconds = time.monotonic() - started
    return report
