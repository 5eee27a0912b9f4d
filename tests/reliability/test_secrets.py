"""Private keys never leave their file: not in any output, log, traceback, store or export,
whatever the commands and however they fail. The real CLI, as subprocesses, on both backends."""

from __future__ import annotations

import base64
from pathlib import Path

from conftest import Database, Result, metric_args, run_subprocess
from cryptography.hazmat.primitives import serialization

from ledger.app import keyfiles
from ledger.core import keys

PASSPHRASE = "correct horse battery staple"


def forms_of_the_secret(path: Path, passphrase: bytes | None) -> dict[str, bytes]:
    """Every spelling of a private key that could leak: raw seed, hex, base64 (standard and
    URL-safe), the unencrypted PKCS#8 DER and its base64 (the body of an unencrypted PEM)."""
    key = keyfiles.load_signing_key(path, lambda p: passphrase or b"")
    raw = key.private.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    der = key.private.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return {
        "raw": raw,
        "hex": raw.hex().encode(),
        "HEX": raw.hex().upper().encode(),
        "base64": base64.b64encode(raw).rstrip(b"="),
        "base64url": base64.urlsafe_b64encode(raw).rstrip(b"="),
        "pkcs8": der,
        "pkcs8-base64": base64.b64encode(der)[:40],
    }


def stored_bytes(db: Database) -> bytes:
    """Everything the store holds, as bytes: the SQLite files, or every row of every table."""
    if db.backend == "sqlite":
        return b"".join(p.read_bytes() for p in db.folder.glob("ledger.db*"))
    dump = []
    for (table,) in db.query("SELECT tablename FROM pg_tables WHERE schemaname = ?", (db.schema,)):
        for row in db.query(f"SELECT * FROM {table}"):
            dump.append(repr(row).encode())
            dump += [bytes(v) for v in row if isinstance(v, (bytes, memoryview))]
    return b"\n".join(dump)


def test_no_private_key_anywhere(db: Database, tmp_path: Path) -> None:
    env = {"LEDGER_PASSPHRASE": PASSPHRASE, "LEDGER_DEBUG": "1"}
    outputs: list[Result] = []

    def run(*args: str, **extra: str) -> Result:
        result = run_subprocess(*args, cwd=db.folder, env={**env, **extra})
        outputs.append(result)
        return result

    assert run("key", "new", "--out", "sec.key", "--name", "Secrétaire").code == 0
    assert run("key", "new", "--out", "plain.key", "--no-passphrase").code == 0
    secrets = {
        f"sec.key {k}": v
        for k, v in forms_of_the_secret(db.folder / "sec.key", PASSPHRASE.encode()).items()
    } | {f"plain.key {k}": v for k, v in forms_of_the_secret(db.folder / "plain.key", None).items()}

    # The whole path, then failures, with tracebacks turned on where there are any.
    calls: list[tuple[list[str], dict[str, str], int]] = [
        (["init", "--enterprise", "SmartCoop", "--number", "0896.755.397", "--key", "sec.key"],
         {}, 0),
        (["signer", "add", "--pub", "plain.key.pub", "--name", "T", "--role", "treasurer",
          "--key", "sec.key"], {}, 0),
        (metric_args("plain.key", "7"), {}, 0),
        (["checkpoint", "--key", "sec.key", "--out", "cp"], {}, 0),
        (["export", "--out", "bundle"], {}, 0),
        (["log", "--json"], {}, 0),
        (["signer", "list", "--json"], {}, 0),
        (metric_args("sec.key", "1", name="x"), {"LEDGER_PASSPHRASE": "wrong"}, 2),
        (metric_args("plain.key", "1", name="x", year="oops"), {}, 2),
        (["signer", "add", "--pub", "sec.key", "--name", "X", "--role", "board",
          "--key", "sec.key"], {}, 2),
        (["signer", "add", "--pub", "plain.key", "--name", "X", "--role", "board",
          "--key", "sec.key"], {}, 2),
        (metric_args("plain.key.pub", "1", name="x"), {}, 2),
    ]  # fmt: skip
    for args, extra, code in calls:
        assert run(*args, **extra).code == code, args

    wrong = [r for r in outputs if "wrong passphrase" in r.err]
    assert len(wrong) == 1
    assert wrong[0].err == "error: --key: wrong passphrase for sec.key\n"  # and nothing more

    places = {
        **{f"output of call {i}": (r.out + r.err).encode() for i, r in enumerate(outputs)},
        "the store": stored_bytes(db),
        "the export": (db.folder / "bundle").read_bytes(),
        "the checkpoint": (db.folder / "cp").read_bytes(),
        "the public key files": (db.folder / "sec.key.pub").read_bytes()
        + (db.folder / "plain.key.pub").read_bytes(),
    }
    leaks = [
        f"{name} in {place}"
        for place, data in places.items()
        for name, secret in secrets.items()
        if secret in data
    ]
    assert leaks == []


def test_the_encrypted_key_file_holds_no_clear_key(tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    keyfiles.write_key_files(keys.generate("K"), path, PASSPHRASE.encode())
    data = path.read_bytes()
    assert b"ENCRYPTED PRIVATE KEY" in data
    leaked = [n for n, s in forms_of_the_secret(path, PASSPHRASE.encode()).items() if s in data]
    assert leaked == []
