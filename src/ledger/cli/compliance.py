"""``ledger compliance``: each accreditation condition in a year."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.cli.context import (
    AsKnownAtOption,
    LangOption,
    app,
    cut,
    echo_json,
    naming,
    open_ledger,
)


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
    from ledger.app import reports

    instant = cut(as_known_at)
    ledger = open_ledger(ctx, read_only=True)
    result, root = reports.compliance(ledger, year, instant, lang)
    if as_json:
        found = result.to_json()
        for shown, c in zip(found["conditions"], result.conditions, strict=True):
            for said, f in zip(shown["findings"], c.findings, strict=True):
                said["text"] = reports.finding_text(f, lang)  # ``message`` stays English
        echo_json(
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
        known = f"as known at {instant}" if instant else "as known now"
        typer.echo(f"{year}, {known}: ledger {ledger.id}, {result.size} events, root {root.hex()}")
        for c in result.conditions:
            refs = ", ".join(map(str, c.evidence)) or "-"
            typer.echo(f"{c.id:<4} {c.status:<14} {c.title}")
            typer.echo(f"     evidence: {refs}")
            for f in c.findings:
                at = f" (event {f.seq})" if f.seq else ""  # seq 0: something missing
                typer.echo(f"     finding{at}: {reports.finding_text(f, lang)}")
        for late in result.late_entries:
            typer.echo(
                f"late entry: event {late.seq} ({late.type}, effective {late.effective}) "
                f"recorded by event {late.recorded_by}, after checkpoint "
                f"{late.checkpoint_size}, which closed {late.covered_until}"
            )
    raise typer.Exit(1 if strict and result.breached else 0)


@app.command("members")
def members_command(
    ctx: typer.Context,
    on: Annotated[
        str | None,
        typer.Option("--on", help="The day, YYYY-MM-DD (default: today)."),
    ] = None,
    as_known_at: AsKnownAtOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """The share register on a day: each member's shares, their nominal value and what was
    paid in, and the totals (members and capital), from the register's events (record member,
    shares, share-transfer, resignation). Member numbers only: names are personal data."""
    from ledger.app import reports

    instant = cut(as_known_at)
    with naming({"on": "--on"}):
        found = reports.members(open_ledger(ctx, read_only=True), on, instant)
    if as_json:
        echo_json(found.to_json())
        return
    total = found.to_json()
    known = f"as known at {instant}" if instant else "as known now"
    if not found.holdings:
        typer.echo(f"share register on {found.on}, {known}: no member (record members with: "
                   "ledger record member)")  # fmt: skip
        return
    typer.echo(
        f"share register on {found.on}, {known}: {total['members']} members, "
        f"{total['shares']} shares, nominal {total['nominal_value']} EUR, paid in "
        f"{total['amount_paid_in']} EUR"
    )
    for number, h in found.holdings.items():
        typer.echo(f"{number:<12} {h.shares:>8} shares  nominal {h.nominal_value}  "
                   f"paid in {h.amount_paid_in}")  # fmt: skip
