"""``ledger log``, ``ledger show``, ``ledger verify``: the events as stored, and whether they
hold."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from ledger.cli.context import app, echo_json, open_ledger, print_verification, read_file

if TYPE_CHECKING:
    from ledger.app.reading import Entry, State


def _event_json(entry: Entry, payload: dict[str, Any], state: State | None) -> dict[str, Any]:
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
    if state is not None:
        found.update(state.to_json())
    return found


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
    from ledger.app import reading

    types = reading.event_types(event_type or [])
    ledger = open_ledger(ctx, read_only=True)
    states = reading.states(ledger)
    for entry, payload in reading.events(ledger, types, year, signer):
        env = entry.envelope
        state = states.get(env.seq)
        if as_json:
            echo_json(_event_json(entry, payload, state))
            continue
        text = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS).decode()
        after = f"  {state.text()}" if state is not None else ""
        typer.echo(
            f"{env.seq:>6}  {env.type:<18} {env.effective}  {env.recorded_at}  "
            f"{env.signer[:12]}  {text}{after}"
        )


@app.command()
def show(
    ctx: typer.Context,
    seq: Annotated[int, typer.Argument(help="The event's sequence number.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """Show one event whole: its envelope, payload and id."""
    from ledger.app import reading

    ledger = open_ledger(ctx, read_only=True)
    entry, payload = reading.event(ledger, seq)
    state = reading.states(ledger).get(seq)
    if as_json:
        echo_json(_event_json(entry, payload, state))
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
        *([("state", state.text())] if state is not None else []),
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
    from ledger.app import reading

    ledger = open_ledger(ctx, read_only=True)
    result = reading.verify(ledger, read_file(trusted, "--trusted") if trusted else None)
    print_verification(result, as_json, late_entries=False)
