"""Run the benchmarks, each measurement in a fresh process; write bench/RESULTS.md and print it.

uv run python bench/run.py [--quick] [--only GROUP[,GROUP]] [--out FILE]
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
from report import (
    APPEND_KINDS,
    AUDIT_KINDS,
    GROUPS,
    AuditSize,
    ComplianceSize,
    ProofRun,
    Results,
    VerifySize,
    render,
)

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "RESULTS.md"
OPENSSL_SECONDS = 3
TIMEOUT_SECONDS = 1800


COMPLIANCE_YEAR = 2025  # the year tests/data/catalogue_examples.json documents
INDEXED_QUERIES = 20  # projected.compliance calls timed, in one process, after its first


@dataclass(frozen=True, slots=True)
class Plan:
    append_events: int
    append_repeats: int
    verify_sizes: tuple[int, ...]
    verify_repeats: int
    single_core_seconds: float
    proof_size: int
    proof_samples: int  # inclusion proofs, and as many consistency proofs
    proof_budget: float  # seconds for the root calls, and for each kind of proof
    audit_sizes: tuple[int, ...]
    audit_new: int  # events after the trusted checkpoint
    audit_repeats: int
    compliance_sizes: tuple[int, ...]
    compliance_repeats: int  # folds of every event, and reports
    startup_runs: int  # whole processes of each command


FULL = Plan(
    append_events=20_000,
    append_repeats=3,
    verify_sizes=(10_000, 100_000, 1_000_000),
    verify_repeats=3,
    single_core_seconds=2.0,
    proof_size=1_000_000,
    proof_samples=1000,
    proof_budget=90.0,
    audit_sizes=(10_000, 100_000),
    audit_new=1000,
    audit_repeats=5,
    compliance_sizes=(10_000, 100_000, 1_000_000),
    compliance_repeats=3,
    startup_runs=10,
)
QUICK = Plan(
    append_events=3_000,
    append_repeats=3,
    verify_sizes=(10_000,),
    verify_repeats=1,
    single_core_seconds=0.5,
    proof_size=20_000,
    proof_samples=1000,
    proof_budget=30.0,
    audit_sizes=(10_000,),
    audit_new=1000,
    audit_repeats=1,
    compliance_sizes=(10_000,),
    compliance_repeats=3,
    startup_runs=3,
)


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
    log(f"  {name} {args}: {summary(figures)}, peak {figures['peak_rss_mb']:.0f} MB")
    return figures


def summary(figures: dict[str, Any]) -> str:
    """The headline figure of a measurement, for the progress log."""
    if "inclusion" in figures:
        return ", ".join(
            f"{kind} p99 {figures[kind]['p99_ms']:.2f} ms"
            for kind in ("root", "inclusion", "consistency")
        )
    if "rate" in figures:
        return f"{figures['rate']:,.0f}/s in {figures['seconds']:.2f} s"
    if "median_ms" in figures:
        return f"median {figures['median_ms']:.1f} ms"
    return "done"


def scratch_folder() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="coop-ledger-bench-")


def append_suite(plan: Plan) -> dict[str, list[dict[str, Any]]]:
    """The three append paths, run alternately so that a busy moment hits them all alike."""
    runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in APPEND_KINDS}
    for repeat in range(plan.append_repeats):
        log(f"append, round {repeat + 1}/{plan.append_repeats}")
        for kind in APPEND_KINDS:
            runs[kind].append(measure(kind, n=plan.append_events))
    return runs


LARGE = 1_000_000  # a size measured once: one run there takes minutes


def repeats_at(n: int, repeats: int) -> int:
    return 1 if n >= LARGE else repeats


def verify_size(n: int, repeats: int) -> VerifySize:
    """Build a ledger of ``n`` events once, then verify it on all cores and on one."""
    log(f"verify, {n:,} events")
    with scratch_folder() as folder:
        db = str(Path(folder) / "ledger.db")
        built = measure("build", db=db, n=n - 1)  # plus the genesis event: n in all
        all_cores = [measure("verify", db=db, workers=None) for _ in range(repeats_at(n, repeats))]
        one_core = measure("verify", db=db, workers=1)
    return VerifySize(n, built, all_cores, one_core)


def proof_run(plan: Plan) -> ProofRun:
    """Build a ledger of ``plan.proof_size`` events once, then time its root and proofs."""
    n = plan.proof_size
    log(f"proofs, {n:,} events (building the ledger first)")
    with scratch_folder() as folder:
        db = str(Path(folder) / "ledger.db")
        built = measure("build-metrics", db=db, n=n)
        figures = measure("proofs", db=db, samples=plan.proof_samples, budget=plan.proof_budget)
    return ProofRun(n, built, figures)


# kind: (trusted checkpoint, audit state), each "old" (at n - new) or "head" (at n)
AUDIT_RUNS = {
    "full": (None, None),
    "trusted": ("old", None),
    "trusted-fixed": ("head", None),
    "incremental": (None, "old"),
    "fixed": (None, "head"),
}
assert set(AUDIT_RUNS) == set(AUDIT_KINDS)


def audit_size(n: int, new: int, repeats: int) -> AuditSize:
    """Export a bundle of ``n`` events with cosigned checkpoints and audit states at ``n - new``
    and ``n``, then audit it fully, from each checkpoint and from each state, alternately."""
    log(f"audit, {n:,} events")
    with scratch_folder() as folder:
        built = measure("audit-build", folder=folder, n=n, new=new)
        runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in AUDIT_KINDS}
        for _ in range(repeats):
            for kind, (trusted, state) in AUDIT_RUNS.items():
                runs[kind].append(measure("audit", folder=folder, trusted=trusted, state=state))
    return AuditSize(n, new, built, runs)


def compliance_size(n: int, repeats: int) -> ComplianceSize:
    """A ledger of ``n`` events with a governance history: the fold of every event, the
    indexed fold (``projected.compliance``), then the report."""
    log(f"compliance, {n:,} events")
    with scratch_folder() as folder:
        db = str(Path(folder) / "ledger.db")
        built = measure("compliance-build", db=db, n=n)
        times = repeats_at(n, repeats)
        every = measure("compliance-every-event", db=db, year=COMPLIANCE_YEAR, repeats=times)
        indexed = measure(
            "compliance-indexed", db=db, year=COMPLIANCE_YEAR, repeats=INDEXED_QUERIES
        )
        report = measure("report-cold", db=db, year=COMPLIANCE_YEAR, repeats=times)
    if every["digest"] != indexed["digest"]:
        raise RuntimeError(
            f"compliance at {n:,}: the indexed fold ({indexed['digest']}) answers differently "
            f"from the fold of every event ({every['digest']})"
        )
    return ComplianceSize(n, built, every, indexed, report)


class Sources:
    """The measured source as each group starts, and the files changed since the previous one."""

    def __init__(self) -> None:
        self.digests: dict[str, str] = {}
        self.changes: dict[str, list[str]] = {}
        self.files: dict[str, str] | None = None

    def note(self, step: str) -> None:
        files = machine.source_files()
        self.digests[step] = machine.source_digest(files)
        if self.files is not None and files != self.files:
            paths = set(files) | set(self.files)
            self.changes[step] = sorted(p for p in paths if files.get(p) != self.files.get(p))
        self.files = files


def run(plan: Plan, quick: bool, groups: tuple[str, ...]) -> Results:
    started, load_before = time.perf_counter(), machine.load_average()
    facts = machine.facts()
    found: dict[str, Any] = {}
    # Other sessions may change the code under measurement: note the source at each group.
    sources = Sources()
    if "append" in groups:
        sources.note("append")
        found["appends"] = append_suite(plan)
    if "verify" in groups:
        sources.note("verify")
        log("openssl speed ed25519")
        found["openssl_verify"] = machine.openssl_ed25519_verify_rate(OPENSSL_SECONDS)
        found["single_core"] = measure("single-core", seconds=plan.single_core_seconds)
        found["verifies"] = [verify_size(n, plan.verify_repeats) for n in plan.verify_sizes]
    if "proofs" in groups:
        sources.note("proofs")
        found["proofs"] = proof_run(plan)
    if "audit" in groups:
        sources.note("audit")
        found["audits"] = [
            audit_size(n, plan.audit_new, plan.audit_repeats) for n in plan.audit_sizes
        ]
    if "compliance" in groups:
        sources.note("compliance")
        found["compliances"] = [
            compliance_size(n, plan.compliance_repeats) for n in plan.compliance_sizes
        ]
    if "startup" in groups:
        sources.note("startup")
        log("start-up, whole processes")
        found["startup"] = measure("startup", runs=plan.startup_runs)
    sources.note("end")
    return Results(
        quick=quick,
        groups=groups,
        digests=sources.digests,
        source_changes=sources.changes,
        machine=facts,
        load=(load_before, machine.load_average()),
        cores=machine.cores(),
        seconds=time.perf_counter() - started,
        **found,
    )


def group_list(text: str) -> tuple[str, ...]:
    names = {name.strip() for name in text.split(",") if name.strip()}
    unknown = names - set(GROUPS)
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown group {', '.join(sorted(unknown)) or '(none)'}; expected {','.join(GROUPS)}"
        )
    return tuple(g for g in GROUPS if g in names)  # always in the suite's order


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run, ~2 min")
    parser.add_argument(
        "--only",
        type=group_list,
        default=GROUPS,
        metavar="NAME[,NAME]",
        help=f"run these groups only, of: {','.join(GROUPS)}",
    )
    parser.add_argument(
        "--out", type=Path, default=RESULTS, help="where to write the Markdown (bench/RESULTS.md)"
    )
    options = parser.parse_args()
    text = render(run(QUICK if options.quick else FULL, options.quick, options.only))
    options.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
