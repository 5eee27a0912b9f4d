"""Every command through the CLI: exit codes, exact messages, and nothing written on bad input."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import Database, Result, make_key, metric_args, run_subprocess, sqlite_only

from ledger.app import keyfiles


def record(cli: Callable[..., Result], key: Path, *extra: str, value: str = "12.50") -> Result:
    return cli(*metric_args(key, value, name="loans", unit="EUR"), *extra)


def test_key_new_writes_private_0600_and_pub(
    cli: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_PASSPHRASE", "correct horse")
    result = cli("key", "new", "--out", "alice.key", "--name", "Alice Martin")
    assert result.code == 0, result.err
    path = tmp_path / "alice.key"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert b"ENCRYPTED PRIVATE KEY" in path.read_bytes()
    public = keyfiles.load_public_key(tmp_path / "alice.key.pub")
    assert result.out.strip() == public.key_id and public.name == "Alice Martin"
    again = cli("key", "new", "--out", "alice.key")
    assert again.code == 2 and "exists already" in again.err


def test_key_new_without_passphrase_source_is_refused(tmp_path: Path) -> None:
    result = run_subprocess("key", "new", "--out", "k.key", cwd=tmp_path)
    assert result.code == 2
    assert result.err.strip() == (
        "error: passphrase: set LEDGER_PASSPHRASE, use a terminal, or --no-passphrase"
    )
    assert not (tmp_path / "k.key").exists()


def test_whole_path_as_subprocess(tmp_path: Path, db: Database) -> None:
    target = str(tmp_path / "coop.db") if db.backend == "sqlite" else db.target
    env = {"LEDGER_PASSPHRASE": "s3cret", "LEDGER_URL": target}
    assert (
        run_subprocess(
            "key", "new", "--out", "sec.key", "--name", "Secrétaire", cwd=tmp_path, env=env
        ).code
        == 0
    )
    opened = run_subprocess(
        "init",
        "--enterprise",
        "SmartCoop",
        "--number",
        "BE 0896 755 397",
        "--key",
        "sec.key",
        cwd=tmp_path,
        env=env,
    )
    assert opened.code == 0, opened.err
    assert (
        run_subprocess(
            "record",
            "metric",
            "--year",
            "2025",
            "--name",
            "turnover",
            "--value",
            "198000000",
            "--unit",
            "EUR",
            "--qualifier",
            ">",
            "--key",
            "sec.key",
            cwd=tmp_path,
            env=env,
        ).code
        == 0
    )
    log = run_subprocess("log", "--json", cwd=tmp_path, env=env)
    lines = [orjson.loads(line) for line in log.out.splitlines()]
    assert [e["type"] for e in lines] == ["LedgerOpened", "MetricSubmitted"]
    assert lines[0]["payload"]["number"] == "0896.755.397"
    assert lines[1]["payload"] == {
        "year": 2025,
        "name": "turnover",
        "value": "198000000",
        "unit": "EUR",
        "qualifier": ">",
    }
    assert lines[1]["effective"] == "2025-12-31"
    assert set(lines[1]) >= {"seq", "type", "effective", "recorded_at", "signer", "payload"}
    verified = run_subprocess("verify", "--json", cwd=tmp_path, env=env)
    assert verified.code == 0 and orjson.loads(verified.out)["ledger"] == opened.out.strip()


def test_init_refuses_an_existing_ledger(
    opened: dict[str, Any], cli: Callable[..., Result]
) -> None:
    before = opened["db"].rows()
    result = cli(
        "init", "--enterprise", "Other", "--number", "0896.755.397", "--key", str(opened["founder"])
    )
    assert result.code == 2
    assert result.err.startswith(
        f"error: ledger: {opened['db'].target} holds the ledger of 0896.755.397 already ("
    )
    assert result.err.strip().endswith("init refuses to open a second one")
    assert opened["db"].rows() == before


@sqlite_only
def test_init_warns_of_a_ledger_of_the_same_enterprise_beside_it(
    opened: dict[str, Any], cli: Callable[..., Result]
) -> None:
    founder = str(opened["founder"])
    (opened["db"].folder / "notes.db").write_text("not a database")  # passed over, silently
    result = cli("--ledger", "second.db", "init", "--enterprise", "SmartCoop", "--number",
                 "BE 0896 755 397", "--key", founder)  # fmt: skip
    assert result.code == 0, result.err
    [warning] = [line for line in result.err.splitlines() if line.startswith("warning:")]
    first = opened["db"].folder / "ledger.db"
    assert warning.startswith(
        f"warning: {first} beside it holds a ledger of 0896.755.397 already ("
    )
    assert warning.endswith(f"work on it with --ledger {first} (or LEDGER_URL)")
    other = cli("--ledger", "third.db", "init", "--enterprise", "Autre", "--number",
                "0403.170.701", "--key", founder)  # fmt: skip
    assert other.code == 0 and "warning" not in other.err


def test_commands_on_a_missing_ledger_say_how_to_start(
    cli: Callable[..., Result], db: Database
) -> None:
    # SQLite: the whole path, since a relative one is where the user stands, which may be the
    # wrong folder; and how to name another store.
    said = (
        f"no ledger at {db.folder / 'ledger.db'}; create one with: ledger init, or name the one "
        "you meant with --ledger PATH (or LEDGER_URL)"
        if db.backend == "sqlite"
        else f"no ledger in {db.target}; create one with: ledger init"
    )
    for args in (("verify",), ("log",), ("signer", "list")):
        result = cli(*args)
        assert result.code == 2
        assert result.err.strip() == f"error: ledger: {said}"
    assert not Path("ledger.db").exists()
    assert db.backend == "sqlite" or db.refusal("SELECT 1 FROM stored_events")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--value", "1,5"), "error: --value: '1,5' uses a decimal comma; write '1.5'"),
        (
            ("--value", "12e3"),
            "error: --value: '12e3' is not a decimal number; expected digits "
            "with an optional '.' part, e.g. 219949 or 0.06",
        ),
        (
            ("--effective", "2025-02-30"),
            "error: --effective: '2025-02-30' is not a real date (day is out of range for month)",
        ),
        (
            ("--effective", "30/06/2025"),
            "error: --effective: '30/06/2025' is not a date; expected YYYY-MM-DD, e.g. 2022-06-21",
        ),
        (
            ("--qualifier", "about"),
            "error: --qualifier: 'about' must be one of ['=', '>', '<', '~'] (expected "
            "exactly, more than, less than, about (default =))",
        ),
    ],
)
def test_bad_record_input_exits_2_and_writes_nothing(
    opened: dict[str, Any], cli: Callable[..., Result], args: tuple[str, ...], message: str
) -> None:
    before = opened["db"].rows()
    extra = [a for a in args if a != "--value"]
    value = args[1] if args[0] == "--value" else "1"
    result = record(cli, opened["treasurer"], *(extra if args[0] != "--value" else []), value=value)
    assert (result.code, result.err.strip()) == (2, message)
    assert opened["db"].rows() == before


def test_bad_year_and_name_exit_2(opened: dict[str, Any], cli: Callable[..., Result]) -> None:
    before = opened["db"].rows()
    year = cli(
        "record",
        "metric",
        "--year",
        "20x5",
        "--name",
        "n",
        "--value",
        "1",
        "--unit",
        "EUR",
        "--key",
        str(opened["treasurer"]),
    )
    assert year.code == 2 and year.err.startswith("error: Invalid value for '--year'")
    name = cli(
        "record",
        "metric",
        "--year",
        "2025",
        "--name",
        "Chiffre d'affaires",
        "--value",
        "1",
        "--unit",
        "EUR",
        "--key",
        str(opened["treasurer"]),
    )
    assert name.code == 2 and name.err.startswith(
        'error: --name: "Chiffre d\'affaires" must match pattern'
    )
    assert len(name.err.strip().splitlines()) == 1
    assert opened["db"].rows() == before


def test_key_problems_exit_2_and_write_nothing(
    opened: dict[str, Any],
    cli: Callable[..., Result],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = opened["db"].rows()
    missing = record(cli, tmp_path / "nope.key")
    assert (missing.code, missing.err.strip()) == (
        2,
        f"error: --key: no key file at {tmp_path / 'nope.key'}",
    )

    loose = opened["treasurer"]
    os.chmod(loose, 0o644)
    result = record(cli, loose)
    assert result.code == 2
    assert result.err.strip() == (
        f"error: --key: {loose} is accessible by group or others (mode 0644); "
        f"run: chmod 600 {loose}"
    )
    os.chmod(loose, 0o600)

    monkeypatch.setenv("LEDGER_PASSPHRASE", "right")
    assert cli("key", "new", "--out", "enc.key", "--name", "Enc").code == 0
    monkeypatch.setenv("LEDGER_PASSPHRASE", "wrong")
    wrong = record(cli, tmp_path / "enc.key")
    assert (wrong.code, wrong.err.strip()) == (
        2,
        f"error: --key: wrong passphrase for {tmp_path / 'enc.key'}",
    )
    assert opened["db"].rows() == before


def test_encrypted_key_without_passphrase_in_a_pipe(opened: dict[str, Any], tmp_path: Path) -> None:
    assert (
        run_subprocess(
            "key", "new", "--out", "enc.key", cwd=tmp_path, env={"LEDGER_PASSPHRASE": "pw"}
        ).code
        == 0
    )
    result = run_subprocess(
        "record",
        "metric",
        "--year",
        "2025",
        "--name",
        "x",
        "--value",
        "1",
        "--unit",
        "EUR",
        "--key",
        "enc.key",
        cwd=tmp_path,
    )
    assert result.code == 2
    assert "is encrypted: set LEDGER_PASSPHRASE or use a terminal" in result.err


def test_roles_are_enforced_at_write(opened: dict[str, Any], cli: Callable[..., Result]) -> None:
    board = record(cli, opened["board"])
    assert board.code == 2
    assert "role-not-allowed: MetricSubmitted needs role secretary or treasurer" in board.err
    enrol = cli(
        "signer",
        "add",
        "--pub",
        f"{opened['board']}.pub",
        "--name",
        "B2",
        "--role",
        "board",
        "--key",
        str(opened["treasurer"]),
    )
    assert enrol.code == 2 and "SignerEnrolled needs role admin" in enrol.err


def test_signer_add_rejects_bad_role_and_duplicates(
    opened: dict[str, Any], cli: Callable[..., Result]
) -> None:
    bad = cli(
        "signer",
        "add",
        "--pub",
        f"{opened['board']}.pub",
        "--name",
        "B",
        "--role",
        "chair",
        "--key",
        str(opened["founder"]),
    )
    assert bad.code == 2 and bad.err.startswith("error: --role: 'chair' is not a role")
    dup = cli(
        "signer",
        "add",
        "--pub",
        f"{opened['board']}.pub",
        "--name",
        "B",
        "--role",
        "board",
        "--key",
        str(opened["founder"]),
    )
    assert dup.code == 2 and "is enrolled already" in dup.err


def test_signer_list_and_revoke(opened: dict[str, Any], cli: Callable[..., Result]) -> None:
    listed = orjson.loads(cli("signer", "list", "--json").out)
    assert [(s["name"], s["roles"]) for s in listed] == [
        ("Founder", ["admin", "secretary"]),
        ("Board", ["board"]),
        ("Treasurer", ["treasurer"]),
    ]
    board_id = listed[1]["key_id"]
    assert (
        cli(
            "signer", "revoke", board_id, "--reason", "term ended", "--key", str(opened["founder"])
        ).code
        == 0
    )
    after = orjson.loads(cli("signer", "list", "--json").out)
    assert after[1]["revoked_seq"] == 7 and after[1]["revoked_reason"] == "term ended"
    again = cli("signer", "revoke", board_id, "--reason", "x", "--key", str(opened["founder"]))
    assert again.code == 2 and "revoked already" in again.err
    unknown = cli("signer", "revoke", "0" * 32, "--reason", "x", "--key", str(opened["founder"]))
    assert unknown.code == 2 and f"no enrolled key {'0' * 32}" in unknown.err
    text = cli("signer", "list").out
    assert "revoked at 7" in text


def test_log_text_and_json(opened: dict[str, Any], cli: Callable[..., Result]) -> None:
    text = cli("log").out.splitlines()
    assert len(text) == 6 and "MetricSubmitted" in text[3]
    lines = [orjson.loads(x) for x in cli("log", "--json").out.splitlines()]
    assert [e["seq"] for e in lines] == [1, 2, 3, 4, 5, 6]


def test_ledger_option_and_env(
    opened: dict[str, Any],
    cli: Callable[..., Result],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path.parent)
    assert cli("--ledger", opened["db"].location, "verify").code == 0
    monkeypatch.setenv("LEDGER_URL", opened["db"].location)
    assert cli("verify").code == 0


def test_unicode_payload_is_kept_exactly(
    opened: dict[str, Any], cli: Callable[..., Result], tmp_path: Path
) -> None:
    key = make_key(tmp_path, "Élodie")
    assert (
        cli(
            "signer",
            "add",
            "--pub",
            f"{key}.pub",
            "--name",
            "Élodie « présidente » €",
            "--role",
            "secretary",
            "--key",
            str(opened["founder"]),
        ).code
        == 0
    )
    listed = orjson.loads(cli("signer", "list", "--json").out)
    assert listed[-1]["name"] == "Élodie « présidente » €"


def test_usage_errors_are_one_line_exit_2(cli: Callable[..., Result]) -> None:
    result = cli("record", "metric", "--year", "2025")
    assert result.code == 2
    assert result.err.strip().startswith("error: Missing option")
    assert len(result.err.strip().splitlines()) == 1
    assert cli("frobnicate").code == 2


def test_help_for_every_command(cli: Callable[..., Result]) -> None:
    for args in (
        ["--help"],
        ["key", "new", "--help"],
        ["init", "--help"],
        ["signer", "add", "--help"],
        ["signer", "revoke", "--help"],
        ["signer", "list", "--help"],
        ["record", "metric", "--help"],
        ["log", "--help"],
        ["verify", "--help"],
    ):
        result = cli(*args)
        assert result.code == 0 and "Usage" in result.out, args
