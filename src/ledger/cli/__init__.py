"""The ``ledger`` command: parses, calls the library, prints, picks the exit code.

Data goes to stdout (``--json``: one JSON document, or JSON Lines for ``log``), status and errors
to stderr. Every library error becomes one line ``error: …`` and its exit code, here and only here:
0 ok, 1 integrity failure, 2 usage or bad input (nothing written), 3 store or environment failure.

One module a group of commands, each registering on the root ``app`` (``context``); a command
imports what it needs of the library when it runs, so that starting the CLI costs little.
"""

from __future__ import annotations

import os
import sys

import typer
from typer.exceptions import TyperException

from ledger.cli.context import app, opened, option_for
from ledger.errors import InputError, LedgerError

# Each module registers its commands on the app as it is imported, and --help lists them in
# that order: the order of this block is the order of the reference (docs/CLI.md).
# isort: off
from ledger.cli import lifecycle, records, reading, transparency, compliance, demo  # noqa: F401
from ledger.cli import keys, signers, report
# isort: on

for group, name in (
    (keys.key_app, "key"),
    (signers.signer_app, "signer"),
    (records.record_app, "record"),
    (transparency.checkpoint_app, "checkpoint"),
    (report.report_app, "report"),
):
    app.add_typer(group, name=name)

__all__ = ["app", "main", "run"]


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
        said = option_for(e) if isinstance(e, InputError) else e
        typer.echo(f"error: {said}", err=True)
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
        while opened:
            opened.pop().close()
    return int(code or 0)


def run() -> None:
    sys.exit(main())
