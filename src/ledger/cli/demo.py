"""``ledger demo``: the SmartCoop history replayed through this CLI, verified, reported."""

from __future__ import annotations

import contextlib
import shlex
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

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
        typer.Option("--dir", help="Folder to build the demo in (default: a new smartcoop-demo*)."),
    ] = None,
) -> None:
    """Replay the SmartCoop history (cli/smartcoop) through this CLI into DIR/ledger.db; verify."""
    from ledger.app import commands, keyfiles, scenario, transparency
    from ledger.chain.ledger import Ledger
    from ledger.chain.verify import verify_ledger
    from ledger.cli import main
    from ledger.projections import projected
    from ledger.reporting import documents

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
    ledger = keep(Ledger.open(str(db)))
    result = verify_ledger(ledger.store, ledger.id)
    if not result.ok:
        first = result.failures[0]
        raise LedgerStateError(
            f"the demo ledger does not verify: event {first.seq}: {first.reason}: {first.detail}"
        )
    keys_dir = folder / "keys"
    secretary = keyfiles.load_signing_key(keys_dir / "secretariat.key", passphrase)
    council = keyfiles.load_signing_key(keys_dir / "council.key", passphrase)
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
    board = keyfiles.load_signing_key(keys_dir / "board.key", passphrase)
    meeting = commands.last_of(ledger, "BoardMeetingHeld")
    assert meeting is not None  # the scenario holds the board's meetings
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
