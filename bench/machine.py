"""Facts about the machine and the software a run measured, and OpenSSL's own Ed25519 speed."""

from __future__ import annotations

import hashlib
import platform
import re
import subprocess
import tempfile
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from cryptography.hazmat.backends.openssl import backend

PACKAGES = ("coop-ledger", "eventsourcing", "cryptography", "orjson", "fastjsonschema")
ROOT = Path(__file__).resolve().parent.parent
_ED25519_LINE = re.compile(r"\(Ed25519\)\s+\S+s\s+\S+s\s+([\d.]+)\s+([\d.]+)\s*$", re.MULTILINE)


def command(*args: str) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=True, cwd=ROOT).stdout


def cores() -> int:
    return int(command("nproc"))


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def temp_filesystem() -> str:
    """Where the SQLite files go, and the filesystem type (tmpfs would hide fsync costs)."""
    folder = tempfile.gettempdir()
    fs_type = command("stat", "-f", "-c", "%T", folder).strip()
    return f"{folder} ({fs_type})"


def git_revision() -> str:
    try:
        head = command("git", "rev-parse", "--short", "HEAD").strip()
        dirty = command("git", "status", "--porcelain", "--", "src").strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}{' + uncommitted changes in src/' if dirty else ''}"


def source_files() -> dict[str, str]:
    """The measured code (src/ledger/*.py, the event schemas and the compliance rules): a short
    hash of each file, by its path in the repository."""
    measured = [
        *ROOT.glob("src/ledger/*.py"),
        *ROOT.glob("events/schemas/*.json"),
        ROOT / "projections" / "conditions.toml",
    ]
    return {
        path.relative_to(ROOT).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        for path in sorted(p for p in measured if p.is_file())
    }


def source_digest(files: dict[str, str] | None = None) -> str:
    """A short hash of the measured code, so that two result files can be told apart even when
    the working tree was not committed."""
    digest = hashlib.sha256()
    for path, file_hash in (files if files is not None else source_files()).items():
        digest.update(path.encode() + b"\0" + file_hash.encode())
    return digest.hexdigest()[:12]


def facts() -> dict[str, str]:
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores (nproc)": str(cores()),
        "CPU": cpu_model(),
        "Python": platform.python_version(),
        "OpenSSL (cryptography)": backend.openssl_version_text(),
        "OpenSSL (command)": command("openssl", "version").strip(),
        "packages": ", ".join(f"{p} {version(p)}" for p in PACKAGES),
        "git": git_revision(),
        "source digest (src/ledger, events/schemas, projections/conditions.toml)": (
            source_digest()
        ),
        "temp folder": temp_filesystem(),
    }


def openssl_ed25519_verify_rate(seconds: int) -> float:
    """Single-core Ed25519 verifications per second by ``openssl speed`` (its verify/s)."""
    out = command("openssl", "speed", "-seconds", str(seconds), "ed25519")
    match = _ED25519_LINE.search(out)
    if match is None:
        raise RuntimeError(f"no Ed25519 line in openssl speed output:\n{out}")
    return float(match.group(2))
