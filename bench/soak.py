"""Soak: the fault loops of tests/reliability/test_faults.py, for as long as you like.

uv run python bench/soak.py [--minutes M] [--backend sqlite|postgres|both] [--writers N]
                            [--kills K] [--write-seconds S] [--seed SEED] [--postgres-url URL]

Rounds until the time is up, each on every chosen backend: K writers killed with SIGKILL at
seeded random moments (each followed by ``ledger verify`` and a search for every reported
event), then N writers at once for S seconds. One store per backend for the whole run, so the
ledger grows. Prints a line a round and a summary; exits 1 on any violation (and keeps the
SQLite folder for a look), 0 otherwise.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "reliability"))

# The loops live beside the tests that run them briefly.
import faults

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--writers", type=int, default=4, help="writers at once (default 4)")
    parser.add_argument("--kills", type=int, default=20, help="kills a round (default 20)")
    parser.add_argument("--write-seconds", type=float, default=30.0)
    parser.add_argument("--max-delay", type=float, default=1.5, help="longest wait before a kill")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--postgres-url",
        default=None,
        help="server for the postgres backend (default LEDGER_TEST_POSTGRES_URL, else "
        f"{DEFAULT_POSTGRES}); a schema is made for the run and dropped after",
    )
    args = parser.parse_args()

    url = args.postgres_url or os.environ.get("LEDGER_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    folder = Path(tempfile.mkdtemp(prefix="coop-ledger-soak-"))
    schema = f"soak_{uuid.uuid4().hex[:12]}"
    targets = {}
    for backend in backends:
        where = folder / backend
        where.mkdir()
        if backend == "sqlite":
            location = str(where / "ledger.db")
        else:
            import psycopg

            with psycopg.connect(url, autocommit=True) as c:
                c.execute(f'CREATE SCHEMA "{schema}"')
            location = f"{url}?schema={schema}"
        target = faults.Target(backend, where, location)
        targets[backend] = (target, faults.create_ledger(target))

    totals = {b: faults.Report(b) for b in backends}
    # Every event any round reported, per backend: each check looks for all of them.
    reported: dict[str, set[tuple[str, str]]] = {b: set() for b in backends}
    started = time.monotonic()
    deadline = started + args.minutes * 60
    round_ = 0
    try:
        while time.monotonic() < deadline:
            for backend, (target, key) in targets.items():
                seed = args.seed * 1_000_003 + round_
                for report in (
                    faults.kill_loop(
                        target,
                        key,
                        kills=args.kills,
                        seed=seed,
                        max_delay=args.max_delay,
                        reported=reported[backend],
                    ),
                    faults.writers_loop(
                        target,
                        key,
                        writers=args.writers,
                        seconds=args.write_seconds,
                        round_=round_,
                        reported=reported[backend],
                    ),
                ):
                    print(f"round {round_ + 1} (seed {seed}) {report.line()}", flush=True)
                    for violation in report.violations:
                        print(f"  VIOLATION: {violation}", flush=True)
                    total = totals[backend]
                    total.kills += report.kills
                    total.children += report.children
                    total.reported += report.reported
                    total.events = report.events
                    total.violations += report.violations
            round_ += 1
            if any(t.violations for t in totals.values()):
                break  # the first one is the one to look at
    finally:
        if "postgres" in targets:
            import psycopg

            with psycopg.connect(url, autocommit=True) as c:
                c.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    failed = any(t.violations for t in totals.values())
    print(f"\nsoak: {round_} rounds in {(time.monotonic() - started) / 60:.1f} min")
    for total in totals.values():
        print(
            f"  {total.backend}: kills {total.kills}, writer processes {total.children}, "
            f"events reported {total.reported}, events in the ledger {total.events}, "
            f"failures {len(total.violations)}"
        )
    if failed:
        print(f"FAILED: the SQLite ledger and keys are kept in {folder}")
        return 1
    shutil.rmtree(folder)
    print("ok: no violation")
    return 0


if __name__ == "__main__":
    sys.exit(main())
