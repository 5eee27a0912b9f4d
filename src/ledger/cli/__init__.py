"""The ``ledger`` command: parses, calls the library, prints, picks the exit code.

Data goes to stdout (``--json``: one JSON document, or JSON Lines for ``log``), status and errors
to stderr. Every library error becomes one line ``error: …`` and its exit code, here and only here:
0 ok, 1 integrity failure, 2 usage or bad input (nothing written), 3 store or environment failure.
"""

from __future__ import annotations

import contextlib
import getpass
import inspect
import os
import shlex
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from typer.exceptions import TyperException

from ledger.app import forms, keyfiles, scenario, transparency
from ledger.chain import auditstate
from ledger.chain.ledger import Ledger, Summary, summaries
from ledger.chain.verify import TrustedCheckpoint, VerificationResult, verify_ledger
from ledger.core import catalogue, keys, values
from ledger.core.catalogue import ROLES
from ledger.core.draft import Draft
from ledger.core.envelope import Entry
from ledger.errors import InputError, KeyFileError, LedgerError, LedgerStateError
from ledger.projections import projected, projection
from ledger.reporting import documents
from ledger.store import Store, open_store
from ledger.store.pages import paged

PASSPHRASE_ENV = "LEDGER_PASSPHRASE"

app = typer.Typer(
    name="ledger",
    help="coop-ledger: the signed, append-only audit ledger of a social-enterprise cooperative.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
key_app = typer.Typer(help="Create signing keys.", no_args_is_help=True)
signer_app = typer.Typer(
    help="Enrol, revoke and list the keys allowed to sign.", no_args_is_help=True
)
record_app = typer.Typer(help="Record signed events.", no_args_is_help=True)
checkpoint_app = typer.Typer(
    help="Sign a checkpoint of the ledger (C2SP tlog-checkpoint); cosign or record one.",
    invoke_without_command=True,
)
app.add_typer(key_app, name="key")
app.add_typer(signer_app, name="signer")
app.add_typer(record_app, name="record")
app.add_typer(checkpoint_app, name="checkpoint")
report_app = typer.Typer(
    help="The special report of a year: write it, check a file, compare instants, adopt it.",
    invoke_without_command=True,
)
app.add_typer(report_app, name="report")


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


def _target(ctx: typer.Context) -> str:
    options: Options = ctx.obj
    return options.target


def _echo_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value).decode() + "\n")


def _passphrase(path: Path) -> bytes:
    """The passphrase of a key file: ``LEDGER_PASSPHRASE`` when set, else a hidden prompt."""
    if PASSPHRASE_ENV in os.environ:
        return os.environ[PASSPHRASE_ENV].encode()
    if not sys.stdin.isatty():
        raise KeyFileError(
            "passphrase", f"{path} is encrypted: set {PASSPHRASE_ENV} or use a terminal"
        )
    return getpass.getpass(f"Passphrase for {path}: ").encode()


def _new_passphrase() -> bytes:
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


def _signing_key(path: Path) -> keys.SigningKey:
    return keyfiles.load_signing_key(path, _passphrase)


def _append(ledger: Ledger, key: Path, draft: Draft, options: dict[str, str]) -> Entry:
    """Sign and append one event; an input error about a payload field names the command's
    option for it (``options``: field → option; a correction's ``replacement.F`` is ``--set
    F``)."""
    signing = _signing_key(key)
    try:
        [entry] = ledger.append(signing, [draft])
    except InputError as e:
        head, _, rest = e.field.partition(".")
        if head == "replacement" and rest:
            raise InputError(f"--set {rest}", e.message) from e
        if head in options:
            raise InputError(options[head], e.message) from e
        raise
    return entry


_opened: list[Store] = []  # closed by main(), so SQLite folds its WAL back into the file


def _open(ctx: typer.Context, *, read_only: bool = False) -> Ledger:
    options: Options = ctx.obj
    return _keep(Ledger.open(options.target, read_only=read_only, select=options.select))


def _keep(ledger: Ledger) -> Ledger:
    _opened.append(ledger.store)
    return ledger


def _keep_store(store: Store) -> Store:
    _opened.append(store)
    return store


# --- keys -------------------------------------------------------------------------------------


@key_app.command("new")
def key_new(
    out: Annotated[
        Path, typer.Option("--out", help="Where to write the private key; PATH.pub beside it.")
    ],
    name: Annotated[str, typer.Option("--name", help="Whose key it is, e.g. 'Marie Dupont'.")] = "",
    no_passphrase: Annotated[
        bool, typer.Option("--no-passphrase", help="Store the key unencrypted (tests, demos).")
    ] = False,
) -> None:
    """Create an Ed25519 key pair: PATH (mode 0600, encrypted) and PATH.pub. Prints the key id."""
    key = keys.generate(name or out.stem)
    public = keyfiles.write_key_files(key, out, None if no_passphrase else _new_passphrase())
    typer.echo(public.key_id)


# --- ledger lifecycle -------------------------------------------------------------------------


@app.command()
def init(
    ctx: typer.Context,
    enterprise: Annotated[str, typer.Option("--enterprise", help="The enterprise's name.")],
    number: Annotated[
        str, typer.Option("--number", help="Its enterprise number (BCE/KBO), e.g. 0123.456.749.")
    ],
    key: KeyOption,
) -> None:
    """Open a new ledger; the key signs the genesis event and becomes admin and secretary."""
    number = values.enterprise_number("--number", number)
    if not enterprise.strip():
        raise InputError("--enterprise", "the enterprise name is empty")
    ledger = Ledger.create(
        _target(ctx), enterprise=enterprise, number=number, key=_signing_key(key)
    )
    _keep(ledger)
    typer.echo(f"opened ledger {ledger.id} for {enterprise} ({number}) in {_target(ctx)}", err=True)
    others = len(ledger.store.ledgers()) - 1
    if others:
        typer.echo(
            f"the store holds {others} other ledger{'s' * (others > 1)}: choose this one with "
            f"--ledger-id {ledger.id} (or {number})",
            err=True,
        )
    typer.echo(str(ledger.id))


@app.command("ledgers")
def ledgers_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines, one ledger a line.")] = False,
) -> None:
    """List the ledgers of the store: id, enterprise number, name, events, head (as stored;
    ledger audit --all proves them)."""
    store = _keep_store(open_store(_target(ctx), read_only=True))
    for summary in summaries(store):
        if as_json:
            _echo_json(summary.to_json())
        else:
            typer.echo(
                f"{summary.id}  {summary.number}  {summary.events:>9} events  "
                f"head {summary.head[:16]}  {summary.enterprise}"
            )


@app.command("import")
def import_command(
    ctx: typer.Context,
    bundle_file: Annotated[
        Path, typer.Argument(metavar="BUNDLE", help="A bundle written by ledger export.")
    ],
) -> None:
    """Verify a bundle completely, then write its ledger into the store (or the events the
    store lacks, when it holds an earlier copy of that ledger). Nothing is written if the bundle
    fails verification or has forked from the stored copy."""
    done = transparency.import_bundle(_target(ctx), bundle_file)
    typer.echo(
        f"imported {done.events} events of ledger {done.ledger} into {_target(ctx)} "
        f"(now {done.size})",
        err=True,
    )
    typer.echo(str(done.ledger))


# --- signers ----------------------------------------------------------------------------------


@signer_app.command("add")
def signer_add(
    ctx: typer.Context,
    pub: Annotated[Path, typer.Option("--pub", help="The public key file to enrol (PATH.pub).")],
    name: Annotated[str, typer.Option("--name", help="Whose key it is.")],
    role: Annotated[
        list[str],
        typer.Option("--role", help=f"A role to grant (repeatable): {', '.join(ROLES)}."),
    ],
    key: KeyOption,
) -> None:
    """Enrol a key with its roles (needs an admin key)."""
    for r in role:
        if r not in ROLES:
            raise InputError("--role", f"{r!r} is not a role; expected one of {', '.join(ROLES)}")
    public = keyfiles.load_public_key(pub)
    payload = {
        "key_id": public.key_id,
        "public_key": public.b64,
        "name": name,
        "roles": sorted(set(role), key=ROLES.index),
    }
    ledger = _open(ctx)
    entry = _append(ledger, key, Draft("SignerEnrolled", payload), {"name": "--name"})
    typer.echo(f"enrolled {public.key_id} ({name}) at event {entry.envelope.seq}", err=True)


@signer_app.command("revoke")
def signer_revoke(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="The key id to revoke (see: ledger signer list).")],
    reason: Annotated[str, typer.Option("--reason", help="Why, for the record.")],
    key: KeyOption,
) -> None:
    """Revoke a key (needs an admin key): events it signs afterwards fail verification."""
    ledger = _open(ctx)
    payload = {"key_id": key_id, "reason": reason}
    entry = _append(ledger, key, Draft("SignerRevoked", payload), {"reason": "--reason"})
    typer.echo(f"revoked {key_id} at event {entry.envelope.seq}", err=True)


@signer_app.command("rotate")
def signer_rotate(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="The key id to replace (see: ledger signer list).")],
    pub: Annotated[Path, typer.Option("--pub", help="The new public key file (PATH.pub).")],
    key: Annotated[
        Path, typer.Option("--key", help="The old private key itself, or an admin's key.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why, for the record.")] = (
        "key rotation"
    ),
) -> None:
    """Replace a key: the new key takes the old one's name and roles; events the old key signs
    afterwards fail verification, those it signed before stay valid."""
    public = keyfiles.load_public_key(pub)
    payload = {
        "key_id": key_id,
        "new_key_id": public.key_id,
        "public_key": public.b64,
        "reason": reason,
    }
    ledger = _open(ctx)
    entry = _append(ledger, key, Draft("SignerKeyRotated", payload), {"reason": "--reason"})
    typer.echo(f"rotated {key_id} to {public.key_id} at event {entry.envelope.seq}", err=True)


@signer_app.command("list")
def signer_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """List enrolled keys, their roles and revocations."""
    signers = _open(ctx, read_only=True).registry().signers.values()
    rows: list[dict[str, Any]] = [
        {
            "key_id": s.key_id,
            "name": s.name,
            "roles": sorted(s.roles, key=ROLES.index),
            "enrolled_seq": s.enrolled_seq,
            "revoked_seq": s.revoked_seq,
            "revoked_reason": s.revoked_reason,
        }
        for s in signers
    ]
    if as_json:
        _echo_json(rows)
        return
    for r in rows:
        status = f"revoked at {r['revoked_seq']}" if r["revoked_seq"] else "active"
        typer.echo(f"{r['key_id']}  {','.join(r['roles']):<24} {status:<16} {r['name']}")


# --- records ----------------------------------------------------------------------------------


def _form_command(form: forms.Form) -> None:
    """Register ``ledger record <form.command>``, its options read off the type's schema."""
    props, required = forms.properties(form), forms.required(form)
    params = [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context)]
    for name, spec in props.items():
        option = forms.option_name(form, name)
        kind: Any = {"integer": int, "boolean": bool}.get(spec.get("type", ""), str)
        metavar = None
        if spec.get("type") == "array":
            kind = list[int] if spec.get("items", {}).get("type") == "integer" else list[str]
            metavar = "SEQ" if kind == list[int] else "TEXT"
            help_text_suffix = " (repeat the option for each)"
        else:
            help_text_suffix = ""
        if kind is bool:
            option = f"{option}/--not-{option[2:]}"
        help_text = form.hints.get(name) or spec.get("description", "")
        if name in form.files:
            help_text = f"a file holding {help_text}"
        help_text += help_text_suffix
        is_required = name in required and spec.get("type") != "array"
        default: Any = ... if is_required else None
        annotation: Any = Annotated[
            kind if is_required else kind | None,
            typer.Option(option, help=help_text, metavar=metavar),
        ]
        params.append(
            inspect.Parameter(
                f"field_{name}",
                inspect.Parameter.KEYWORD_ONLY,
                default=default,
                annotation=annotation,
            )
        )
    params.append(inspect.Parameter("key", inspect.Parameter.KEYWORD_ONLY, annotation=KeyOption))
    params.append(
        inspect.Parameter(
            "effective", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=EffectiveOption
        )
    )

    def command(**kwargs: Any) -> None:
        given = {name: kwargs[f"field_{name}"] for name in props}
        try:
            draft = forms.draft(form, given, kwargs["effective"], Path.cwd())
            ledger = _open(kwargs["ctx"])
            [entry] = ledger.append(_signing_key(kwargs["key"]), [draft])
        except InputError as e:
            if e.field.split(".")[0] in props:
                raise InputError(forms.option_name(form, e.field), e.message) from e
            raise
        typer.echo(f"recorded {form.type} at event {entry.envelope.seq}", err=True)
        typer.echo(str(entry.envelope.seq))

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    command.__doc__ = f"{form.help} ({form.type}; prints its sequence number)"
    command.__name__ = f"record_{form.command.replace('-', '_')}"
    record_app.command(form.command)(command)


EffectiveOption = Annotated[
    str | None,
    typer.Option(
        "--effective",
        help="Effective date YYYY-MM-DD (default: from the event, e.g. its date, 31 Dec of its "
        "year, or the date of the decision it refers to; else today).",
    ),
]

for _form in forms.FORMS:
    _form_command(_form)


@record_app.command("metrics")
def record_metrics(
    ctx: typer.Context,
    year: Annotated[int, typer.Option("--year", help="The financial year of every figure.")],
    file: Annotated[
        Path,
        typer.Option(
            "--file",
            help=f"CSV with a header: name,value,unit then any of "
            f"{','.join(forms.CSV_COLUMNS[3:])}.",
        ),
    ],
    key: KeyOption,
) -> None:
    """Record a year's figures from a CSV file, all or nothing (a bad row names its line)."""
    drafts = forms.metrics_csv(forms.read_text(file, "--file"), year, str(file))
    entries = _open(ctx).append(_signing_key(key), drafts)
    typer.echo(
        f"recorded {len(entries)} figures for {year} at events "
        f"{entries[0].envelope.seq}..{entries[-1].envelope.seq}",
        err=True,
    )


@record_app.command("minutes")
def record_minutes(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(help="A minutes file (TOML; format in docs/RECORDING.md).")
    ],
    key: KeyOption,
) -> None:
    """Record an assembly with all its resolutions and the articles they adopt, all or nothing."""
    text = forms.read_text(file, "FILE")
    drafts = forms.minutes_toml(text, str(file), file.parent)
    entries = _open(ctx).append(_signing_key(key), drafts)
    for entry in entries:
        typer.echo(f"{entry.envelope.seq}\t{entry.envelope.type}")
    typer.echo(f"recorded {len(entries)} events from {file}", err=True)


@app.command()
def correct(
    ctx: typer.Context,
    seq: Annotated[int, typer.Argument(help="The event to correct.")],
    reason: Annotated[str, typer.Option("--reason", help="Why, for the record.")],
    assignments: Annotated[
        list[str], typer.Option("--set", help="FIELD=VALUE to change (repeatable).")
    ],
    key: KeyOption,
) -> None:
    """Correct an event: records EventCorrected with the whole corrected payload. Never an edit."""
    ledger = _open(ctx)
    target = ledger.entry(seq).envelope
    replacement = forms.corrected(target.type, target.payload, assignments)
    payload = {"event": seq, "reason": reason, "replacement": replacement}
    entry = _append(
        ledger, key, Draft("EventCorrected", payload), {"event": "SEQ", "reason": "--reason"}
    )
    typer.echo(f"corrected event {seq} at event {entry.envelope.seq}", err=True)
    typer.echo(str(entry.envelope.seq))


@app.command()
def retract(
    ctx: typer.Context,
    seq: Annotated[int, typer.Argument(help="The event to retract.")],
    reason: Annotated[str, typer.Option("--reason", help="Why, for the record.")],
    key: KeyOption,
) -> None:
    """Retract an event recorded in error: records EventRetracted. Never a deletion."""
    ledger = _open(ctx)
    payload = {"event": seq, "reason": reason}
    entry = _append(
        ledger, key, Draft("EventRetracted", payload), {"event": "SEQ", "reason": "--reason"}
    )
    typer.echo(f"retracted event {seq} at event {entry.envelope.seq}", err=True)
    typer.echo(str(entry.envelope.seq))


# --- reading ----------------------------------------------------------------------------------


def _event_json(entry: Entry, payload: dict[str, Any]) -> dict[str, Any]:
    """An event for people and scripts: ``payload`` with personal fields revealed
    (``Ledger.revealed``); the signed one, with their commitments, as ``signed_payload`` when
    it differs."""
    env = entry.envelope
    found = {
        "seq": env.seq,
        "type": env.type,
        "effective": env.effective,
        "recorded_at": env.recorded_at,
        "signer": env.signer,
        "payload": payload,
        "id": entry.id,
    }
    if payload is not env.payload:
        found["signed_payload"] = env.payload
    return found


LOG_PAGE = 500


@app.command()
def redact(
    ctx: typer.Context,
    seq: Annotated[int, typer.Argument(help="The event holding the personal field.")],
    field: Annotated[str, typer.Option("--field", help="The personal field to erase.")],
    reason: Annotated[str, typer.Option("--reason", help="Why, e.g. an erasure request.")],
    key: KeyOption,
) -> None:
    """Erase a personal field's clear value (GDPR) by a recorded PersonalDataRedacted event: its
    salted commitment stays signed, so verify, audit and proofs still pass."""
    ledger = _open(ctx)
    payload = {"event": seq, "field": field, "reason": reason}
    options = {"event": "SEQ", "field": "--field", "reason": "--reason"}
    entry = _append(ledger, key, Draft("PersonalDataRedacted", payload), options)
    typer.echo(f"redacted {field} of event {seq} at event {entry.envelope.seq}", err=True)


@app.command()
def log(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines, one event a line.")] = False,
    event_type: Annotated[
        list[str] | None, typer.Option("--type", help="Only events of this type (repeatable).")
    ] = None,
    year: Annotated[
        int | None, typer.Option("--year", help="Only events effective in this year.")
    ] = None,
    signer: Annotated[
        str | None, typer.Option("--signer", help="Only events signed by this key id (or prefix).")
    ] = None,
) -> None:
    """List the events, one a line: seq, type, effective date, recorded-at, signer, payload."""
    for t in event_type or []:
        if t not in catalogue.SIGNING_ROLES:
            raise InputError("--type", f"{t!r} is not an event type; e.g. MetricSubmitted")
    ledger = _open(ctx, read_only=True)

    def wanted(entry: Entry) -> bool:
        env = entry.envelope
        return (
            (not event_type or env.type in event_type)
            and (year is None or env.effective[:4] == f"{year:04d}")
            and (not signer or env.signer.startswith(signer))
        )

    for page in paged(filter(wanted, ledger.entries()), LOG_PAGE):
        for entry, payload in zip(page, ledger.revealed(page), strict=True):
            if as_json:
                _echo_json(_event_json(entry, payload))
                continue
            env = entry.envelope
            text = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS).decode()
            typer.echo(
                f"{env.seq:>6}  {env.type:<18} {env.effective}  {env.recorded_at}  "
                f"{env.signer[:12]}  {text}"
            )


@app.command()
def show(
    ctx: typer.Context,
    seq: Annotated[int, typer.Argument(help="The event's sequence number.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """Show one event whole: its envelope, payload and id."""
    ledger = _open(ctx, read_only=True)
    entry = ledger.entry(seq)
    [payload] = ledger.revealed([entry])
    if as_json:
        _echo_json(_event_json(entry, payload))
        return
    env = entry.envelope
    for label, value in (
        ("seq", env.seq),
        ("type", f"{env.type} (schema v{env.schema})"),
        ("effective", env.effective),
        ("recorded at", env.recorded_at),
        ("signer", env.signer),
        ("prev", env.prev),
        ("id", entry.id),
    ):
        typer.echo(f"{label:<12} {value}")
    typer.echo("payload")
    for name, value in payload.items():
        text = value if isinstance(value, str) else orjson.dumps(value).decode()
        signed = env.payload[name]
        shown = text if signed == value else f"{text}  (signed as {signed})"
        typer.echo(f"  {name}: {shown}")


@app.command()
def verify(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
    trusted: Annotated[
        Path | None,
        typer.Option("--trusted", help="A checkpoint you trust: prove the ledger extends it."),
    ] = None,
) -> None:
    """Check every signature, role, link of the hash chain, sequence number and canonical form.

    Exit 0 when intact, 1 at the first integrity failure (named), 2 for bad usage.
    """
    ledger = _open(ctx, read_only=True)
    checkpoint = TrustedCheckpoint(_read(trusted, "--trusted")) if trusted else None
    result = verify_ledger(ledger.store, ledger.id, trusted=checkpoint)
    _report(result, as_json, late_entries=False)


def _report(result: VerificationResult, as_json: bool, *, late_entries: bool) -> NoReturn:
    if as_json:
        _echo_json(result.to_json(late_entries=late_entries))
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


def _read(path: Path, field: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise InputError(field, f"cannot read {path}: {e.strerror}") from e


def _write(data: bytes, out: Path | None) -> None:
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        out.write_bytes(data)


# --- transparency -------------------------------------------------------------------------------

OutOption = Annotated[
    Path | None, typer.Option("--out", help="Write here instead of standard output.")
]


@checkpoint_app.callback()
def checkpoint_sign(
    ctx: typer.Context,
    key: Annotated[
        Path | None, typer.Option("--key", help="An admin or secretary key of the ledger.")
    ] = None,
    out: OutOption = None,
) -> None:
    """Sign a checkpoint (size and root) of the whole ledger as a C2SP signed note."""
    if ctx.invoked_subcommand is not None:
        return
    if key is None:
        raise InputError("--key", "give the key that signs the checkpoint: --key PATH")
    ledger = _open(ctx)
    _write(transparency.sign_checkpoint(ledger, _signing_key(key)), out)
    raise typer.Exit(0)


@checkpoint_app.command("cosign")
def checkpoint_cosign(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The signed checkpoint to cosign.")],
    key: Annotated[Path, typer.Option("--key", help="The Council's private key.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write here (default: update FILE in place).")
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option(
            "--state",
            help="The Council's audit state of this ledger (ledger audit --save-state): verify "
            "only the events after it.",
        ),
    ] = None,
) -> None:
    """Add the Council's cosignature (cosignature/v1), which means "verified": only once the
    whole ledger verifies (every rule, the Council's key trusted; from --state, the events after
    it) and the checkpoint proves to be of the tree rebuilt from the events: its signature by
    a ledger key active now, its origin, its root at its size, no cosignature from the future.
    Exit 1 when the ledger or the checkpoint fails."""
    earlier = auditstate.load(state) if state else None
    ledger = _open(ctx, read_only=True)
    cosigned = transparency.cosign_checkpoint(
        ledger, _read(file, "FILE"), _signing_key(key), datetime.now(UTC), earlier
    )
    _write(cosigned, out or file)
    typer.echo(f"cosigned {file}", err=True)


@checkpoint_app.command("record")
def checkpoint_record(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A checkpoint of this ledger, cosigned or not.")],
    key: KeyOption,
) -> None:
    """Keep a checkpoint, with its cosignatures, in the ledger (CheckpointRecorded)."""
    ledger = _open(ctx)
    entry = transparency.record_checkpoint(ledger, _read(file, "FILE"), _signing_key(key))
    typer.echo(f"recorded checkpoint at event {entry.envelope.seq}", err=True)


@app.command()
def prove(
    ctx: typer.Context,
    seq: Annotated[int, typer.Argument(help="The event to prove.")],
    checkpoint: Annotated[
        Path, typer.Option("--checkpoint", help="A signed checkpoint of this ledger.")
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON instead of C2SP tlog-proof.")
    ] = False,
) -> None:
    """An offline-verifiable inclusion proof of event SEQ in the checkpoint (C2SP tlog-proof,
    the entry in its extra line; or JSON, docs/FORMAT.md)."""
    ledger = _open(ctx, read_only=True)
    proof = transparency.prove(ledger, seq, _read(checkpoint, "--checkpoint"))
    if as_json:
        _echo_json(proof.to_json())
    else:
        _write(proof.tlog_proof(), None)


@app.command()
def export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="The bundle file to write.")],
) -> None:
    """Write every event, checkpoints and cosignatures included, to one bundle file."""
    count = transparency.export(_open(ctx, read_only=True), out)
    typer.echo(f"exported {count} events to {out}", err=True)


@app.command()
def audit(
    ctx: typer.Context,
    bundle_file: Annotated[
        Path | None, typer.Argument(metavar="[BUNDLE]", help="An exported bundle.")
    ] = None,
    trust: Annotated[
        list[Path] | None,
        typer.Option(
            "--trust",
            metavar="<path>",
            help="A trusted public key file (repeatable), e.g. the Council's; required for a "
            "bundle.",
        ),
    ] = None,
    trusted: Annotated[
        Path | None,
        typer.Option(
            "--trusted", help="The last checkpoint you trust: prove the bundle extends it."
        ),
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option(
            "--state",
            help="The state an earlier audit of this ledger saved (--save-state): read and "
            "check only the events after it.",
        ),
    ] = None,
    save_state: Annotated[
        Path | None,
        typer.Option(
            "--save-state",
            help="When the audit passes, save where it ended here (it may be the --state "
            "file), for the next audit to start from.",
        ),
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Audit every ledger of the --ledger store instead.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON document (JSON Lines with --all).")
    ] = False,
) -> None:
    """Audit a bundle offline, without any database: everything verify checks, checkpoint
    signatures by the trusted keys, consistency with the trusted checkpoint, late entries.

    An audit that passes can save its state (--save-state); the next audit of the ledger's
    bundle starts from it (--state), so it costs the new events only. Keep the state file as
    safe as the checkpoints you trust: it stands for the history you already audited.

    With --all, audit every ledger of the store in parallel, one line per ledger; late entries
    are judged by the cosignatures of the --trust keys only (without --trust, none is judged).
    Exit 1 when any ledger fails."""
    keys_ = [keyfiles.load_public_key(p, "--trust") for p in trust or []]
    if every:
        for given, name in (
            (bundle_file, "BUNDLE"),
            (trusted, "--trusted"),
            (state, "--state"),
            (save_state, "--save-state"),
        ):
            if given is not None:
                raise InputError("--all", f"--all audits the store: give no {name}")
        _audit_store(_target(ctx), keys_ or None, as_json)
    if bundle_file is None:
        raise InputError("BUNDLE", "give a bundle to audit, or --all to audit the store")
    if not keys_:
        raise InputError("--trust", "give the public key you trust, e.g. --trust council.pub")
    data = _read(trusted, "--trusted") if trusted else None
    earlier = auditstate.load(state) if state else None
    if save_state is not None and not save_state.absolute().parent.is_dir():
        raise InputError("--save-state", f"no folder {save_state.absolute().parent} to save in")
    audited = transparency.audit(bundle_file, keys_, data, state=earlier)
    if earlier is not None:
        typer.echo(
            f"started from the audit state at event {audited.skipped}"
            if audited.skipped
            else f"read every event: {audited.why_not}",
            err=True,
        )
    if save_state is not None:
        if audited.state is None:
            typer.echo("audit state not saved: the audit failed", err=True)
        else:
            auditstate.save(save_state, audited.state)
            typer.echo(
                f"audit state saved to {save_state} (event {audited.state.resume.size})",
                err=True,
            )
    _report(audited.result, as_json, late_entries=True)


def _audit_store(target: str, trust: list[keys.PublicKey] | None, as_json: bool) -> NoReturn:
    ledgers = summaries(_keep_store(open_store(target, read_only=True)))
    if trust is None:
        typer.echo(
            "no --trust key: late entries are not judged (only the cosignatures of keys you "
            "trust close a year)",
            err=True,
        )
    failed = 0
    with Progress(
        TextColumn("auditing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("ledgers"),
        console=Console(stderr=True),
        transient=True,
        disable=as_json or not sys.stderr.isatty(),
    ) as progress:
        task = progress.add_task("audit", total=len(ledgers))
        for summary, result in transparency.audit_store(target, ledgers, trust):
            progress.advance(task)
            failed += not result.ok
            # rich keeps the bar below what goes to stdout meanwhile
            typer.echo(_audit_line(summary, result, as_json))
    if not as_json:
        typer.echo(f"{len(ledgers) - failed} of {len(ledgers)} ledgers intact", err=True)
    raise typer.Exit(1 if failed else 0)


def _audit_line(summary: Summary, result: VerificationResult, as_json: bool) -> str:
    if as_json:
        found = result.to_json(late_entries=True)
        found.update(enterprise=summary.enterprise, number=summary.number)
        return orjson.dumps(found).decode()
    if result.ok:
        late = len(result.late_entries)
        extra = f"; {late} late entr{'ies' if late > 1 else 'y'}" if late else ""
        return (
            f"ok      {summary.id}  {summary.number}  {result.events} events  "
            f"root {result.root[:16]}{extra}"
        )
    first = result.failures[0]
    return (
        f"FAILED  {summary.id}  {summary.number}  event {first.seq}: {first.reason}: {first.detail}"
    )


def _cut(as_known_at: str | None, field: str = "--as-known-at") -> str | None:
    if as_known_at is None:
        return None
    try:
        return projection.instant(as_known_at)
    except ValueError:
        raise InputError(
            field,
            f"{as_known_at!r} is not an ISO date or date-time, e.g. 2024-12-31 or "
            "2025-03-01T12:00:00+01:00",
        ) from None


AsKnownAtOption = Annotated[
    str | None,
    typer.Option(
        "--as-known-at",
        help="As the ledger knew it at this instant (ISO date or date-time; a date means the "
        "end of that day, UTC). Default: as known now, corrections included.",
    ),
]


# --- compliance ---------------------------------------------------------------------------------

LangOption = Annotated[str, typer.Option("--lang", help="fr (default), nl or en.")]


@app.command("compliance")
def compliance_command(
    ctx: typer.Context,
    year: Annotated[int, typer.Option("--year", help="The financial year to judge.")],
    as_known_at: AsKnownAtOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 when any condition is breached.")
    ] = False,
    lang: LangOption = "fr",
) -> None:
    """Each accreditation condition in YEAR: met, breached or not evidenced, with its evidence
    (event numbers) and findings, and the evidence recorded late (after a checkpoint the ledger
    recorded, cosigned by a council key it enrols, had closed its year).

    Every event it folds is judged by the rulebook first (exit 1 at the first one refused);
    signatures and links are verify's to prove."""
    values.year("--year", year)
    if lang not in ("fr", "nl", "en"):
        raise InputError("--lang", f"{lang!r}; expected fr, nl or en")
    cut = _cut(as_known_at)
    ledger = _open(ctx, read_only=True)
    result, root = projected.compliance(ledger, year, cut, lang=lang)
    if as_json:
        found = result.to_json()
        _echo_json(
            {
                "ledger": str(ledger.id),
                "year": result.year,
                "as_known_at": result.as_known_at,
                "checkpoint": {"size": result.size, "root": root.hex()},
                "conditions": found["conditions"],
                "late_entries": found["late_entries"],
            }
        )
    else:
        known = f"as known at {cut}" if cut else "as known now"
        typer.echo(f"{year}, {known}: ledger {ledger.id}, {result.size} events, root {root.hex()}")
        for c in result.conditions:
            refs = ", ".join(map(str, c.evidence)) or "-"
            typer.echo(f"{c.id:<4} {c.status:<14} {c.title}")
            typer.echo(f"     evidence: {refs}")
            for f in c.findings:
                typer.echo(f"     finding (event {f.seq}): {f.message}")
        for late in result.late_entries:
            typer.echo(
                f"late entry: event {late.seq} ({late.type}, effective {late.effective}) "
                f"recorded by event {late.recorded_by}, after checkpoint "
                f"{late.checkpoint_size}, which closed {late.covered_until}"
            )
    raise typer.Exit(1 if strict and result.breached else 0)


# --- the special report -------------------------------------------------------------------------


@report_app.callback()
def report_write(
    ctx: typer.Context,
    year: Annotated[int | None, typer.Option("--year", help="The financial year.")] = None,
    lang: LangOption = "fr",
    fmt: Annotated[str, typer.Option("--format", help="md (default), html or pdf.")] = "md",
    as_known_at: AsKnownAtOption = None,
    out: OutOption = None,
) -> None:
    """Write the special report of YEAR, rebuilt from the ledger alone (same ledger and
    arguments, same bytes)."""
    if ctx.invoked_subcommand is not None:
        return
    if year is None:
        raise InputError("--year", "give the financial year: --year YEAR")
    ledger = _open(ctx, read_only=True)
    produced = documents.produce(ledger, values.year("--year", year), lang, fmt, _cut(as_known_at))
    _write(produced.data, out)
    if out is not None:
        typer.echo(
            f"wrote {out} ({len(produced.data)} bytes, {produced.provenance.size} events)", err=True
        )
    raise typer.Exit(0)


@report_app.command("verify")
def report_verify(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A report file written by ledger report.")],
) -> None:
    """Recompute a report from the ledger and say whether the file matches, byte for byte."""
    produced = documents.verify(_open(ctx, read_only=True), _read(file, "FILE"))
    p = produced.provenance
    typer.echo(f"ok: {file} is the report recomputed from events 1..{p.size} (root {p.root})")


@report_app.command("diff")
def report_diff(
    ctx: typer.Context,
    year: Annotated[int, typer.Option("--year", help="The financial year.")],
    since: Annotated[str, typer.Option("--from", help="The earlier instant (ISO).")],
    until: Annotated[
        str | None, typer.Option("--to", help="The later instant (ISO; default: now).")
    ] = None,
    lang: LangOption = "fr",
) -> None:
    """What changed in YEAR's report between two instants (corrections, late entries), per
    section, as a unified diff of the Markdown."""
    ledger = _open(ctx, read_only=True)
    text = documents.diff(
        ledger, values.year("--year", year), _cut(since, "--from") or "", _cut(until, "--to"), lang
    )
    typer.echo(text or "no change")


@report_app.command("adopt")
def report_adopt(
    ctx: typer.Context,
    year: Annotated[int, typer.Option("--year", help="The financial year.")],
    meeting: Annotated[int, typer.Option("--meeting", help="SEQ of the BoardMeetingHeld.")],
    key: KeyOption,
    lang: LangOption = "fr",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Where to keep the adopted PDF (default: special-report-YEAR.LANG.pdf)."
        ),
    ] = None,
) -> None:
    """Adopt YEAR's report: record SpecialReportAdopted with the SHA-256 of its PDF (as known
    now) and the checkpoint it rests on; keep the PDF."""
    ledger = _open(ctx)
    entry, produced = documents.adopt(
        ledger, values.year("--year", year), meeting, _signing_key(key), lang
    )
    path = out or Path(f"special-report-{year}.{lang}.pdf")
    path.write_bytes(produced.data)
    typer.echo(f"adopted the {year} report at event {entry.envelope.seq}; kept {path}", err=True)
    typer.echo(str(entry.envelope.seq))


# --- demo -------------------------------------------------------------------------------------


def _fresh_folder(base: str) -> Path:
    folder, n = Path(base), 1
    while folder.exists():
        n += 1
        folder = Path(f"{base}-{n}")
    return folder


@app.command()
def demo(
    folder: Annotated[
        Path | None,
        typer.Option("--dir", help="Folder to build the demo in (default: a new smartcoop-demo*)."),
    ] = None,
) -> None:
    """Replay the SmartCoop history (cli/smartcoop) through this CLI into DIR/ledger.db; verify."""
    folder = folder or _fresh_folder("smartcoop-demo")
    if folder.exists() and any(folder.iterdir()):
        raise InputError("--dir", f"{folder} is not empty; give a new or empty folder")
    (folder / "keys").mkdir(parents=True, exist_ok=True)
    db = folder / "ledger.db"
    script = scenario.smartcoop()
    steps = scenario.parse(script.read_text(encoding="utf-8"), folder, script.parent)
    log_path = folder / "demo.log"
    with log_path.open("w", encoding="utf-8") as log_file:
        for step in steps:
            log_file.write(f"$ ledger {shlex.join(step.args)}\n")
            log_file.flush()
            with contextlib.redirect_stdout(log_file), contextlib.redirect_stderr(log_file):
                code = main(["--ledger", str(db), *step.args])
            if code != 0:
                raise LedgerStateError(
                    f"scenario line {step.line} failed with exit {code}; see {log_path}"
                )
    ledger = _keep(Ledger.open(str(db)))
    result = verify_ledger(ledger.store, ledger.id)
    if not result.ok:
        first = result.failures[0]
        raise LedgerStateError(
            f"the demo ledger does not verify: event {first.seq}: {first.reason}: {first.detail}"
        )
    keys_dir = folder / "keys"
    secretary = keyfiles.load_signing_key(keys_dir / "secretariat.key", _passphrase)
    council = keyfiles.load_signing_key(keys_dir / "council.key", _passphrase)
    signed = transparency.sign_checkpoint(ledger, secretary)
    cosigned = transparency.cosign_checkpoint(ledger, signed, council, datetime.now(UTC))
    checkpoint_path = folder / "checkpoint"
    checkpoint_path.write_bytes(cosigned)
    written = []
    for fmt in documents.FORMATS:
        path = folder / f"rapport-special-{DEMO_YEAR}.fr.{fmt}"
        path.write_bytes(documents.produce(ledger, DEMO_YEAR, "fr", fmt).data)
        written.append(str(path))
    # The board adopts the report at its last meeting: the ledger records the PDF's hash.
    board = keyfiles.load_signing_key(keys_dir / "board.key", _passphrase)
    meeting = max(e.envelope.seq for e in ledger.entries() if e.envelope.type == "BoardMeetingHeld")
    adoption, adopted = documents.adopt(ledger, DEMO_YEAR, meeting, board)
    if adopted.data != Path(written[-1]).read_bytes():
        raise LedgerStateError("the adopted PDF differs from the one written: not deterministic")
    compliance, _ = projected.compliance(ledger, DEMO_YEAR)
    statuses = " ".join(f"{c.id}={c.status}" for c in compliance.conditions)
    typer.echo(f"SmartCoop demo in {folder}/")
    typer.echo(f"  scenario    {len(steps)} CLI calls replayed (log: {log_path})")
    typer.echo(f"  ledger      {db}  ({result.events} events, id {ledger.id})")
    typer.echo(f"  verify      ok: root {result.root}")
    typer.echo(
        f"  checkpoint  {checkpoint_path} (signed by the secretariat, cosigned by the Council)"
    )
    typer.echo(f"  compliance  {DEMO_YEAR}: {statuses}")
    typer.echo(f"  report      {', '.join(written)}")
    typer.echo(
        f"  adopted     by the board at event {adoption.envelope.seq} (meeting {meeting}), "
        "PDF hash recorded"
    )
    typer.echo(f"  keys        {keys_dir}/ (unencrypted demo keys)")
    typer.echo(f"try: uv run ledger --ledger {db} report verify {written[-1]}")


DEMO_YEAR = 2025


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (the console script exits with it)."""
    try:
        code = app(argv, prog_name="ledger", standalone_mode=False)
    except TyperException as e:
        if type(e).__name__ == "NoArgsIsHelpError":  # `ledger` alone: the help, not an error
            typer.echo(e.format_message())
            code = 0
        else:
            typer.echo(f"error: {e.format_message()}", err=True)
            code = e.exit_code
    except LedgerError as e:
        typer.echo(f"error: {e}", err=True)
        code = e.exit_code
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        code = 130
    except OSError as e:
        typer.echo(f"error: {e.strerror or e}: {e.filename or ''}".rstrip(": "), err=True)
        code = 3
    except Exception as e:
        # A bug, not a user error: one line by default, the traceback on request.
        if os.environ.get("LEDGER_DEBUG"):
            raise
        typer.echo(
            f"error: internal error ({type(e).__name__}: {e}); rerun with LEDGER_DEBUG=1 "
            "and report the traceback",
            err=True,
        )
        code = 3
    finally:
        while _opened:
            _opened.pop().close()
    return int(code or 0)


def run() -> None:
    sys.exit(main())
