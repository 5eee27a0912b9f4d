"""The results of a run as Markdown: ratios against their targets first, then the details."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median
from typing import Any

Figures = dict[str, Any]

APPEND_TARGET = 0.5  # signed append / plain eventsourcing
VERIFY_TARGET = 0.8  # verify / (cores x openssl single-core verify rate)
RSS_GROWTH_LIMIT = 2.0  # peak RSS at the largest size / at the smallest: "flat"

APPEND_KINDS = {
    "append-signed": "signed `Ledger.append`",
    "append-eventsourcing": "plain eventsourcing (unsigned)",
    "append-sqlite": "sqlite3 `executemany` of the signed entries (storage limit)",
}


@dataclass(frozen=True, slots=True)
class VerifySize:
    n: int
    build: Figures
    all_cores: list[Figures]  # repeats, default workers
    one_core: Figures  # workers=1

    @property
    def rate(self) -> float:
        return median_of(self.all_cores, "rate")

    @property
    def cpu_us(self) -> float:
        return median_of(self.all_cores, "cpu_us")

    @property
    def peak_rss_mb(self) -> float:
        return float(max(f["peak_rss_mb"] for f in self.all_cores))

    @property
    def worker_rss_mb(self) -> float:
        return float(max(f["children_rss_mb"] for f in self.all_cores))


@dataclass(frozen=True, slots=True)
class Results:
    quick: bool
    machine: dict[str, str]
    load: tuple[str, str]  # load averages before and after
    cores: int
    appends: dict[str, list[Figures]]  # kind -> repeats
    openssl_verify: float  # single core, verify/s
    single_core: Figures
    verifies: list[VerifySize]
    seconds: float

    @property
    def verify_limit(self) -> float:
        return self.cores * self.openssl_verify

    @property
    def openssl_verify_us(self) -> float:
        """CPU microseconds of one verification, by ``openssl speed``."""
        return 1e6 / self.openssl_verify

    def append_rate(self, kind: str) -> float:
        return median_of(self.appends[kind], "rate")

    def append_cpu_us(self, kind: str) -> float:
        return median_of(self.appends[kind], "cpu_us")


def median_of(runs: Sequence[Figures], key: str) -> float:
    return float(median(f[key] for f in runs))


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = [headers, ["---"] * len(headers), *rows]
    return "\n".join("| " + " | ".join(str(c) for c in line) + " |" for line in lines)


def number(x: float) -> str:
    return f"{x:,.0f}"


def mb(size: float) -> str:
    return f"{size:.1f} MB"


def rss(runs: Sequence[Figures]) -> str:
    """The highest peak RSS of ``runs`` and, in brackets, its growth over the RSS after imports."""
    top = max(runs, key=lambda f: f["peak_rss_mb"])
    return f"{mb(top['peak_rss_mb'])} (+{top['peak_rss_mb'] - top['start_rss_mb']:.1f})"


def verdict(ok: bool) -> str:
    return "yes" if ok else "**NO**"


def ratio(label: str, value: float, at_least: float | None = None) -> list[object]:
    """A row of the ratio table; without ``at_least`` the ratio is context, not a target."""
    if at_least is None:
        return [label, f"{value:.2f}", "(context)", ""]
    return [label, f"{value:.2f}", f"≥ {at_least}", verdict(value >= at_least)]


def ratio_rows(r: Results) -> list[list[object]]:
    signed = r.append_rate("append-signed")
    rows = [
        ratio(
            "signed append / plain eventsourcing",
            signed / r.append_rate("append-eventsourcing"),
            APPEND_TARGET,
        ),
        ratio(
            "signed append / plain eventsourcing, by CPU time an event",
            r.append_cpu_us("append-eventsourcing") / r.append_cpu_us("append-signed"),
        ),
        ratio("signed append / sqlite3 storage limit", signed / r.append_rate("append-sqlite")),
    ]
    for v in r.verifies:
        rows += [
            ratio(f"verify {v.n:,} / limit", v.rate / r.verify_limit, VERIFY_TARGET),
            ratio(f"verify {v.n:,} / limit, by CPU time an event", r.openssl_verify_us / v.cpu_us),
            ratio(
                f"verify {v.n:,}, workers=1 / 1 x openssl", v.one_core["rate"] / r.openssl_verify
            ),
        ]
    if len(r.verifies) > 1:
        small, large = r.verifies[0], r.verifies[-1]
        for label, before, after in (
            ("main process", small.peak_rss_mb, large.peak_rss_mb),
            ("largest worker", small.worker_rss_mb, large.worker_rss_mb),
        ):
            growth = after / max(before, 1e-9)
            rows.append(
                [
                    f"verify peak RSS {large.n:,} / {small.n:,}, {label}",
                    f"{growth:.2f}",
                    f"< {RSS_GROWTH_LIMIT} (flat)",
                    verdict(growth < RSS_GROWTH_LIMIT),
                ]
            )
    return rows


def append_rows(r: Results) -> list[list[object]]:
    rows: list[list[object]] = []
    for kind, label in APPEND_KINDS.items():
        runs = r.appends[kind]
        rates = ", ".join(number(f["rate"]) for f in runs)
        rows.append(
            [
                label,
                number(r.append_rate(kind)),
                rates,
                number(r.append_cpu_us(kind)),
                mb(runs[0]["file_bytes"] / 1e6),
                rss(runs),
            ]
        )
    return rows


def verify_rows(r: Results) -> list[list[object]]:
    rows: list[list[object]] = []
    for v in r.verifies:
        rates = ", ".join(number(f["rate"]) for f in v.all_cores)
        rows.append(
            [
                f"{v.build['stored']:,}",
                mb(v.build["file_bytes"] / 1e6),
                f"{number(v.rate)} ({rates})",
                number(v.cpu_us),
                number(v.one_core["rate"]),
                number(v.one_core["cpu_us"]),
                number(r.verify_limit),
                f"{v.rate / r.verify_limit:.2f}",
                rss(v.all_cores),
                mb(v.worker_rss_mb),
                rss([v.one_core]),
                number(v.build["rate"]),
            ]
        )
    return rows


def single_core_rows(r: Results) -> list[list[object]]:
    s = r.single_core
    return [
        [
            "`openssl speed -seconds 3 ed25519`, verify/s (per CPU second, by default)",
            number(r.openssl_verify),
        ],
        [
            "cryptography `Ed25519PublicKey.verify`, 600-byte message",
            number(s["ed25519_verify_600"]),
        ],
        [
            "`ledger.keys.verify_signature` (loads the key each call), 600 bytes",
            number(s["verify_signature_600"]),
        ],
        [
            f"`parse_entry` of a {s['entry_bytes']}-byte MetricSubmitted entry",
            number(s["parse_entry"]),
        ],
        ["`parse_entry` + `verify_signature` (a worker's job per entry)", number(s["check_entry"])],
    ]


def render(r: Results) -> str:
    n = r.appends["append-signed"][0]["events"]
    repeats = len(r.appends["append-signed"])
    return "\n".join(
        [
            f"# coop-ledger benchmarks{' (quick run)' if r.quick else ''}",
            "",
            f"`uv run python bench/run.py{' --quick' if r.quick else ''}` — whole run "
            f"{r.seconds:.0f} s. See `bench/README.md` for what each figure means.",
            "",
            "## Ratios",
            "",
            table(["ratio", "value", "target", "met"], ratio_rows(r)),
            "",
            f"## Append: {n:,} MetricSubmitted events in batches of 1000 "
            f"(median of {repeats}, run alternately)",
            "",
            table(
                [
                    "path",
                    "events/s (median)",
                    "events/s (each run)",
                    "CPU µs/event",
                    "file",
                    "peak RSS (+ over imports)",
                ],
                append_rows(r),
            ),
            "",
            "## Verify (default workers = all cores; limit = cores x openssl verify/s)",
            "",
            table(
                [
                    "events",
                    "file",
                    "events/s (median; each run)",
                    "CPU µs/event",
                    "workers=1 events/s",
                    "workers=1 CPU µs/event",
                    "limit",
                    "ratio",
                    "peak RSS main (+ over imports)",
                    "peak RSS worker",
                    "peak RSS workers=1",
                    "build events/s",
                ],
                verify_rows(r),
            ),
            "",
            "## Single core, for context (operations per CPU second)",
            "",
            table(["operation", "per second"], single_core_rows(r)),
            "",
            "## Machine",
            "",
            table(
                ["fact", "value"],
                [*r.machine.items(), ("load average before / after", f"{r.load[0]} / {r.load[1]}")],
            ),
            "",
        ]
    )
