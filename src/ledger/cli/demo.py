"""``ledger demo``: a scenario of ``cli/`` (the SmartCoop history unless ``--scenario`` names
another) replayed through this CLI, verified, reported."""

from __future__ import annotations

import contextlib
import shlex
from pathlib import Path
from typing import Annotated

import typer

from ledger.app import scenario
from ledger.cli.context import app, keep, passphrase
from ledger.errors import InputError, LedgerStateError


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
        typer.Option(
            "--dir",
            help="Folder to build the demo in (default: a new NAME-demo*, e.g. smartcoop-demo).",
        ),
    ] = None,
    name: Annotated[
        str,
        typer.Option(
            "--scenario",
            metavar="<name>",
            # Listed when the CLI is built (a glob of cli/, no more): the help names what exists.
            help="The scenario: a folder of cli/ holding a scenario.txt, one of "
            f"{', '.join(scenario.names())}.",
        ),
    ] = scenario.DEFAULT,
) -> None:
    """Replay a scenario of cli/ (default: the SmartCoop history, cli/smartcoop) through this
    CLI into DIR/ledger.db; verify."""
    from ledger.app import demo as demo_app
    from ledger.app import reading
    from ledger.cli import main

    try:
        script = scenario.named(name)
    except KeyError:
        # Checked before any folder is made: a mistyped name leaves nothing behind.
        choices = ", ".join(scenario.names())
        raise InputError("--scenario", f"no scenario {name!r}; choose one of {choices}") from None
    folder = folder or _fresh_folder(f"{name}-demo")
    if folder.exists() and any(folder.iterdir()):
        raise InputError("--dir", f"{folder} is not empty; give a new or empty folder")
    (folder / "keys").mkdir(parents=True, exist_ok=True)
    db = folder / "ledger.db"
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
    ledger = keep(reading.open_ledger(str(db)))
    done = demo_app.conclude(ledger, folder, passphrase)
    statuses = " ".join(f"{c.id}={c.status}" for c in done.compliance.conditions)
    written = ", ".join(map(str, done.reports))
    typer.echo(f"{scenario.title(script)} demo in {folder}/")
    typer.echo(f"  scenario    {len(steps)} CLI calls replayed (log: {log_path})")
    typer.echo(f"  ledger      {db}  ({done.verified.events} events, id {ledger.id})")
    typer.echo(f"  verify      ok: root {done.verified.root}")
    typer.echo(
        f"  checkpoint  {done.checkpoint} (signed by the secretariat, cosigned by the Council)"
    )
    typer.echo(f"  compliance  {done.year}: {statuses}")
    typer.echo(f"  report      {written}")
    typer.echo(
        f"  adopted     by the board at event {done.adoption.envelope.seq} "
        f"(meeting {done.meeting}), PDF hash recorded"
    )
    typer.echo(f"  keys        {folder / 'keys'}/ (unencrypted demo keys)")
    typer.echo(f"try: uv run ledger --ledger {db} report verify {done.reports[-1]}")
