"""``ledger key``: signing keys."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ledger.cli.context import new_passphrase

key_app = typer.Typer(help="Create signing keys.", no_args_is_help=True)


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
    from ledger.app import keyfiles

    public = keyfiles.create(
        name or out.stem, out, (lambda: None) if no_passphrase else new_passphrase
    )
    typer.echo(public.key_id)
