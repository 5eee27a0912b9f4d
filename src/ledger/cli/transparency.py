"""``ledger checkpoint`` (sign, cosign, record), ``ledger prove``, ``ledger export``,
``ledger audit``: the ledger as a transparency log."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import orjson
import typer

from ledger.cli.context import (
    KeyOption,
    OutOption,
    app,
    echo_json,
    keep_store,
    open_ledger,
    print_verification,
    read_file,
    signing_key,
    target,
    write_out,
)
from ledger.errors import InputError

if TYPE_CHECKING:
    from ledger.app.keyfiles import PublicKey
    from ledger.app.reading import Summary, VerificationResult

checkpoint_app = typer.Typer(
    help="Sign a checkpoint of the ledger (C2SP tlog-checkpoint); cosign or record one.",
    invoke_without_command=True,
)


@checkpoint_app.callback()
def checkpoint_sign(
    ctx: typer.Context,
    key: Annotated[
        Path | None, typer.Option("--key", help="An admin or secretary key of the ledger.")
    ] = None,
    out: OutOption = None,
) -> None:
    """Sign a checkpoint (size and root) of the whole ledger as a C2SP signed note."""
    from ledger.app import transparency

    if ctx.invoked_subcommand is not None:
        return
    if key is None:
        raise InputError("--key", "give the key that signs the checkpoint: --key PATH")
    ledger = open_ledger(ctx)
    write_out(transparency.sign_checkpoint(ledger, signing_key(key)), out)
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
    from ledger.app import transparency

    earlier = transparency.load_state(state) if state else None
    ledger = open_ledger(ctx, read_only=True)
    cosigned = transparency.cosign_checkpoint(
        ledger, read_file(file, "FILE"), signing_key(key), datetime.now(UTC), earlier
    )
    write_out(cosigned, out or file)
    typer.echo(f"cosigned {file}", err=True)


@checkpoint_app.command("record")
def checkpoint_record(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A checkpoint of this ledger, cosigned or not.")],
    key: KeyOption,
) -> None:
    """Keep a checkpoint, with its cosignatures, in the ledger (CheckpointRecorded)."""
    from ledger.app import transparency

    ledger = open_ledger(ctx)
    entry = transparency.record_checkpoint(ledger, read_file(file, "FILE"), signing_key(key))
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
    from ledger.app import transparency

    ledger = open_ledger(ctx, read_only=True)
    proof = transparency.prove(ledger, seq, read_file(checkpoint, "--checkpoint"))
    if as_json:
        echo_json(proof.to_json())
    else:
        write_out(proof.tlog_proof(), None)


@app.command()
def export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="The bundle file to write.")],
) -> None:
    """Write every event, checkpoints and cosignatures included, to one bundle file."""
    from ledger.app import transparency

    count = transparency.export(open_ledger(ctx, read_only=True), out)
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
    from ledger.app import keyfiles, transparency

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
        _audit_store(target(ctx), keys_ or None, as_json)
    if bundle_file is None:
        raise InputError("BUNDLE", "give a bundle to audit, or --all to audit the store")
    if not keys_:
        raise InputError("--trust", "give the public key you trust, e.g. --trust council.pub")
    data = read_file(trusted, "--trusted") if trusted else None
    earlier = transparency.load_state(state) if state else None
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
            transparency.save_state(save_state, audited.state)
            typer.echo(
                f"audit state saved to {save_state} (event {audited.state.resume.size})",
                err=True,
            )
    print_verification(audited.result, as_json, late_entries=True)


def _audit_store(target: str, trust: list[PublicKey] | None, as_json: bool) -> NoReturn:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from ledger.app import reading, transparency

    ledgers = reading.ledgers(keep_store(reading.read_store(target)))
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
