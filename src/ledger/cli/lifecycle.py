"""``ledger init``, ``ledger ledgers``, ``ledger import``: a ledger opened, the ledgers of a
store listed, a bundle imported."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ledger.cli.context import (
    KeyOption,
    app,
    echo_json,
    keep,
    keep_store,
    naming,
    signing_key,
    target,
)


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
    from ledger.app import commands

    with naming({"enterprise": "--enterprise", "number": "--number"}):
        ledger = keep(commands.open_ledger(target(ctx), enterprise, number, signing_key(key)))
    number = ledger.entry(1).envelope.payload["number"]
    typer.echo(f"opened ledger {ledger.id} for {enterprise} ({number}) in {target(ctx)}", err=True)
    for path, other in commands.beside(target(ctx), number):
        typer.echo(
            f"warning: {path} beside it holds a ledger of {number} already ({other}); if that "
            f"is the one you meant, work on it with --ledger {path} (or LEDGER_URL)",
            err=True,
        )
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
    from ledger.app import reading

    store = keep_store(reading.read_store(target(ctx)))
    for summary in reading.ledgers(store):
        if as_json:
            echo_json(summary.to_json())
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
    from ledger.app import transparency

    done = transparency.import_bundle(target(ctx), bundle_file)
    typer.echo(
        f"imported {done.events} events of ledger {done.ledger} into {target(ctx)} "
        f"(now {done.size})",
        err=True,
    )
    typer.echo(str(done.ledger))
