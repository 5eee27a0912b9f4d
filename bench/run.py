"""Run every benchmark, each measurement in a fresh process; write bench/RESULTS.md and print it.

uv run python bench/run.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import machine
from report import APPEND_KINDS, Results, VerifySize, render

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "RESULTS.md"
OPENSSL_SECONDS = 3
TIMEOUT_SECONDS = 1800


@dataclass(frozen=True, slots=True)
class Plan:
    append_events: int
    append_repeats: int
    verify_sizes: tuple[int, ...]
    verify_repeats: int
    single_core_seconds: float


FULL = Plan(20_000, 3, (10_000, 100_000), 3, 2.0)
QUICK = Plan(3_000, 3, (10_000,), 1, 0.5)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def measure(name: str, **args: Any) -> dict[str, Any]:
    """Run one measurement of ``measure.py`` in a fresh process and return its figures."""
    done = subprocess.run(
        [sys.executable, str(BENCH / "measure.py"), name, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{name} {args} failed:\n{done.stderr}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    log(f"  {name} {args}: {figures.get('rate', 0):,.0f}/s, peak {figures['peak_rss_mb']:.0f} MB")
    return figures


def append_suite(plan: Plan) -> dict[str, list[dict[str, Any]]]:
    """The three append paths, run alternately so that a busy moment hits them all alike."""
    runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in APPEND_KINDS}
    for repeat in range(plan.append_repeats):
        log(f"append, round {repeat + 1}/{plan.append_repeats}")
        for kind in APPEND_KINDS:
            runs[kind].append(measure(kind, n=plan.append_events))
    return runs


def verify_size(n: int, repeats: int) -> VerifySize:
    """Build a ledger of ``n`` events once, then verify it on all cores and on one."""
    log(f"verify, {n:,} events")
    with tempfile.TemporaryDirectory(prefix="coop-ledger-bench-") as folder:
        db = str(Path(folder) / "ledger.db")
        built = measure("build", db=db, n=n - 1)  # plus the genesis event: n in all
        all_cores = [measure("verify", db=db, workers=None) for _ in range(repeats)]
        one_core = measure("verify", db=db, workers=1)
    return VerifySize(n, built, all_cores, one_core)


def run(plan: Plan, quick: bool) -> Results:
    started, load_before = time.perf_counter(), machine.load_average()
    facts = machine.facts()
    appends = append_suite(plan)
    log("openssl speed ed25519")
    openssl_verify = machine.openssl_ed25519_verify_rate(OPENSSL_SECONDS)
    single_core = measure("single-core", seconds=plan.single_core_seconds)
    verifies = [verify_size(n, plan.verify_repeats) for n in plan.verify_sizes]
    return Results(
        quick=quick,
        machine=facts,
        load=(load_before, machine.load_average()),
        cores=machine.cores(),
        appends=appends,
        openssl_verify=openssl_verify,
        single_core=single_core,
        verifies=verifies,
        seconds=time.perf_counter() - started,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run, < 1 min")
    options = parser.parse_args()
    text = render(run(QUICK if options.quick else FULL, options.quick))
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
