"""``ledger report``: the special report of a year written, checked, compared, adopted."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ledger.cli.context import (
    AsKnownAtOption,
    KeyOption,
    LangOption,
    Options,
    OutOption,
    cut,
    open_ledger,
    read_file,
    signing_key,
    write_out,
)
from ledger.errors import InputError

report_app = typer.Typer(
    help="The special report of a year: write it, check a file, compare instants, adopt it.",
    invoke_without_command=True,
)


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
    from ledger.app import reports

    if ctx.invoked_subcommand is not None:
        return
    if year is None:
        raise InputError("--year", "give the financial year: --year YEAR")
    ledger = open_ledger(ctx, read_only=True)
    produced = reports.write(ledger, year, lang, fmt, cut(as_known_at))
    write_out(produced.data, out)
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
    """Recompute a report from the ledger and say whether the file matches, byte for byte, and
    whether it is the one the board adopted (its hash recorded by SpecialReportAdopted).

    The ledger is the one the file's marker names, in the store of --ledger (which may hold
    many); --ledger-id overrides. Exit 0 when it matches, 1 when it does not (named)."""
    from ledger.app import reports

    options: Options = ctx.obj
    checked = reports.check(options.target, read_file(file, "FILE"), options.select)
    p = checked.produced.provenance
    typer.echo(
        f"ok: {file} is the report recomputed from events 1..{p.size} of ledger "
        f"{checked.ledger} (root {p.root})"
    )
    year = checked.produced.model["year"]
    if checked.adoption is not None:
        adoption = checked.adoption.envelope
        typer.echo(
            f"adopted: it is the report on {year} the board adopted at event {adoption.seq} "
            f"(meeting {adoption.payload['meeting']})"
        )
    elif checked.adopted_other:
        seqs = ", ".join(str(e.envelope.seq) for e in checked.adopted_other)
        typer.echo(
            f"not adopted: the board adopted another file as the report on {year} (event {seqs})"
        )
    else:
        typer.echo(f"not adopted: no report on {year} is adopted in this ledger")


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
    from ledger.app import reports

    ledger = open_ledger(ctx, read_only=True)
    text = reports.diff(ledger, year, cut(since, "--from") or "", cut(until, "--to"), lang)
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
    from ledger.app import reports

    ledger = open_ledger(ctx)
    entry, produced = reports.adopt(ledger, year, meeting, signing_key(key), lang)
    path = out or Path(f"special-report-{year}.{lang}.pdf")
    path.write_bytes(produced.data)
    typer.echo(f"adopted the {year} report at event {entry.envelope.seq}; kept {path}", err=True)
    typer.echo(str(entry.envelope.seq))
