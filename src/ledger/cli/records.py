"""``ledger record`` (one command a form, read off the schemas, and the figures and minutes
files), ``ledger correct``, ``ledger retract``, ``ledger redact``: events recorded, never edited."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any

import typer

from ledger.app import forms
from ledger.cli.context import KeyOption, app, naming, open_ledger, signing_key
from ledger.errors import InputError

record_app = typer.Typer(help="Record signed events.", no_args_is_help=True)


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
            ledger = open_ledger(kwargs["ctx"])
            [entry] = ledger.append(signing_key(kwargs["key"]), [draft])
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
            f"{','.join(forms.CSV_COLUMNS[3:])}; ',' or ';' between cells (then 0,06 is 0.06), "
            "a UTF-8 BOM allowed.",
        ),
    ],
    key: KeyOption,
    new_metric: Annotated[
        bool,
        typer.Option("--new-metric", help="Take figure names the ledger has not seen before."),
    ] = False,
    again: Annotated[
        bool,
        typer.Option("--again", help="Record figures the ledger already holds for the year."),
    ] = False,
) -> None:
    """Record a year's figures from a CSV file, all or nothing (a bad row names its line)."""
    from ledger.app import commands

    entries = commands.record_figures(
        open_ledger(ctx),
        signing_key(key),
        forms.read_text(file, "--file"),
        year,
        str(file),
        new_metric=new_metric,
        again=again,
    )
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
    entries = open_ledger(ctx).append(signing_key(key), drafts)
    for entry in entries:
        typer.echo(f"{entry.envelope.seq}\t{entry.envelope.type}")
    typer.echo(f"recorded {len(entries)} events from {file}", err=True)


@record_app.command("article-provides")
def record_article_provides(
    ctx: typer.Context,
    article: Annotated[
        str,
        typer.Option("--article", help="The article's number, e.g. 44 (its adoption in force)."),
    ],
    key: KeyOption,
    provides: Annotated[
        list[str] | None,
        typer.Option(
            "--provides",
            metavar="TEXT",
            help="A condition the article provides for, e.g. SE4 (any case; repeat the option "
            "for each; none: it provides for nothing).",
        ),
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="A note, free text.")] = None,
    amendment_majority: Annotated[
        str | None,
        typer.Option(
            "--amendment-majority",
            help="The majority the article sets for amending the statutes, when stricter than "
            "the law: one of simple, two_thirds, three_quarters, four_fifths, unanimity; 'law' "
            "for none of its own (absent: as its adoption or last record said).",
        ),
    ] = None,
) -> None:
    """Record what an article already recorded provides for (StatuteArticleProvisionsRecorded;
    prints its sequence number): it replaces what its adoption said."""
    from ledger.app import commands

    options = {"article": "--article", "provides": "--provides", "note": "--note",
               "amendment_majority": "--amendment-majority"}  # fmt: skip
    with naming(options):
        entry = commands.record_provisions(
            open_ledger(ctx), signing_key(key), article, provides or [], note,
            amendment_majority=amendment_majority,
        )  # fmt: skip
    typer.echo(f"recorded StatuteArticleProvisionsRecorded at event {entry.envelope.seq}", err=True)
    typer.echo(str(entry.envelope.seq))


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
    from ledger.app import commands

    ledger = open_ledger(ctx)
    with naming({"event": "SEQ", "reason": "--reason"}):
        entry = commands.correct(ledger, signing_key(key), seq, reason, assignments)
    typer.echo(f"corrected event {seq} at event {entry.envelope.seq}", err=True)
    typer.echo(str(entry.envelope.seq))


@app.command()
def retract(
    ctx: typer.Context,
    seq: Annotated[str, typer.Argument(help="The event to retract, or a run of them: 55..62.")],
    reason: Annotated[str, typer.Option("--reason", help="Why, for the record.")],
    key: KeyOption,
) -> None:
    """Retract events recorded in error: one EventRetracted each, all or none. Never a
    deletion."""
    from ledger.app import commands

    ledger = open_ledger(ctx)
    with naming({"event": "SEQ", "reason": "--reason"}):
        entries = commands.retract_run(ledger, signing_key(key), seq, reason)
    seqs = [e.envelope.payload["event"] for e in entries]
    made = [e.envelope.seq for e in entries]
    if len(seqs) == 1:
        typer.echo(f"retracted event {seqs[0]} at event {made[0]}", err=True)
    else:
        typer.echo(
            f"retracted events {seqs[0]}..{seqs[-1]} at events {made[0]}..{made[-1]}", err=True
        )
    for new in made:
        typer.echo(str(new))


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
    from ledger.app import commands

    ledger = open_ledger(ctx)
    with naming({"event": "SEQ", "field": "--field", "reason": "--reason"}):
        entry = commands.redact(ledger, signing_key(key), seq, field, reason)
    typer.echo(f"redacted {field} of event {seq} at event {entry.envelope.seq}", err=True)
