"""What every command shares: the root app and its options (which store, which ledger), opening
ledgers and closing them at the end, passphrases and keys, reading and writing files, the options
several commands take, and how a verification is printed."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import orjson
import typer

from ledger.errors import InputError, KeyFileError

if TYPE_CHECKING:
    from ledger.app.keyfiles import SigningKey
    from ledger.app.reading import Ledger, Store, VerificationResult

PASSPHRASE_ENV = "LEDGER_PASSPHRASE"

app = typer.Typer(
    name="ledger",
    help="coop-ledger: the signed, append-only audit ledger of a social-enterprise cooperative.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@dataclass(frozen=True, slots=True)
class Options:
    target: str
    select: str | None


@app.callback()
def _options(
    ctx: typer.Context,
    ledger: Annotated[
        str,
        typer.Option(
            "--ledger",
            envvar="LEDGER_URL",
            metavar="TARGET",
            help="The ledger store: a SQLite file path (created by init) or a "
            "postgresql://USER@HOST:PORT/DB[?schema=NAME] URL.",
        ),
    ] = "ledger.db",
    ledger_id: Annotated[
        str | None,
        typer.Option(
            "--ledger-id",
            envvar="LEDGER_ID",
            metavar="ID",
            help="Which ledger of a store holding several: its id or its enterprise number "
            "(see: ledger ledgers).",
        ),
    ] = None,
) -> None:
    ctx.obj = Options(target=ledger, select=ledger_id)


def target(ctx: typer.Context) -> str:
    options: Options = ctx.obj
    return options.target


def echo_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value).decode() + "\n")


def passphrase(path: Path) -> bytes:
    """The passphrase of a key file: ``LEDGER_PASSPHRASE`` when set, else a hidden prompt."""
    if PASSPHRASE_ENV in os.environ:
        return os.environ[PASSPHRASE_ENV].encode()
    if not sys.stdin.isatty():
        raise KeyFileError(
            "passphrase", f"{path} is encrypted: set {PASSPHRASE_ENV} or use a terminal"
        )
    return getpass.getpass(f"Passphrase for {path}: ").encode()


def new_passphrase() -> bytes:
    if PASSPHRASE_ENV in os.environ:
        return os.environ[PASSPHRASE_ENV].encode()
    if not sys.stdin.isatty():
        raise InputError("passphrase", f"set {PASSPHRASE_ENV}, use a terminal, or --no-passphrase")
    first = getpass.getpass("New passphrase: ")
    if first != getpass.getpass("Repeat passphrase: "):
        raise InputError("passphrase", "the two passphrases differ")
    return first.encode()


KeyOption = Annotated[
    Path, typer.Option("--key", help="Your private key file (see: ledger key new).")
]


def signing_key(path: Path) -> SigningKey:
    from ledger.app import keyfiles

    return keyfiles.load_signing_key(path, passphrase)


# The library names the field at fault (``InputError.field``); the CLI says which of its options
# or arguments that is. This table is what every command shares; ``naming`` adds a command's own.
OPTIONS: Mapping[str, str] = {
    "as_known_at": "--as-known-at",
    "bundle": "BUNDLE",
    "effective": "--effective",
    "format": "--format",
    "key": "--key",
    "key_path": "--out",
    "lang": "--lang",
    "ledger_id": "--ledger-id",
    "name": "--name",
    "pub": "--pub",
    "replacement": "--set",
    "report": "FILE",
    "seq": "SEQ",
    "state": "--state",
    "target": "--ledger",
    "type": "--type",
    "year": "--year",
}


def option_for(error: InputError, options: Mapping[str, str] = OPTIONS) -> InputError:
    """``error`` said with the option for its field (a correction's ``replacement.F`` is
    ``--set F``); as it is when the field is not one of ``options``."""
    head, _, rest = error.field.partition(".")
    if head == "replacement":
        return InputError(f"--set {rest}" if rest else "--set", error.message)
    if head in options:
        return InputError(options[head], error.message)
    return error


@contextmanager
def naming(options: Mapping[str, str]) -> Iterator[None]:
    """Input errors of the library about these fields (field → option), said with the
    command's options for them."""
    try:
        yield
    except InputError as e:
        said = option_for(e, options)
        if said is e:
            raise
        raise said from e


opened: list[Store] = []  # closed by main(), so SQLite folds its WAL back into the file


def open_ledger(ctx: typer.Context, *, read_only: bool = False) -> Ledger:
    from ledger.app import reading

    options: Options = ctx.obj
    return keep(reading.open_ledger(options.target, read_only=read_only, select=options.select))


def keep(ledger: Ledger) -> Ledger:
    opened.append(ledger.store)
    return ledger


def keep_store(store: Store) -> Store:
    opened.append(store)
    return store


def print_verification(
    result: VerificationResult, as_json: bool, *, late_entries: bool
) -> NoReturn:
    if as_json:
        echo_json(result.to_json(late_entries=late_entries))
    elif result.ok:
        typer.echo(f"ok: {result.events} events verified; head {result.head}; root {result.root}")
        if late_entries:
            for late in result.late_entries:
                typer.echo(
                    f"late entry: event {late.seq} ({late.type}, effective {late.effective}) "
                    f"recorded after checkpoint {late.checkpoint_size}, which closed "
                    f"{late.covered_until}"
                )
    else:
        first = result.failures[0]
        more = len(result.failures) - 1
        tail = f" (and {more} more failure{'s' * (more > 1)})" if more else ""
        typer.echo(f"FAILED: event {first.seq}: {first.reason}: {first.detail}{tail}")
    raise typer.Exit(0 if result.ok else 1)


def read_file(path: Path, field: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise InputError(field, f"cannot read {path}: {e.strerror}") from e


def write_out(data: bytes, out: Path | None) -> None:
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        out.write_bytes(data)


OutOption = Annotated[
    Path | None, typer.Option("--out", help="Write here instead of standard output.")
]


def cut(as_known_at: str | None, field: str = "--as-known-at") -> str | None:
    from ledger.app import reports

    return reports.instant(as_known_at, field)


AsKnownAtOption = Annotated[
    str | None,
    typer.Option(
        "--as-known-at",
        help="As the ledger knew it at this instant (ISO date or date-time; a date means the "
        "end of that day, UTC). Default: as known now, corrections included.",
    ),
]


LangOption = Annotated[str, typer.Option("--lang", help="fr (default), nl or en.")]
