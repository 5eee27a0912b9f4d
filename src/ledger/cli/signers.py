"""``ledger signer``: keys enrolled, revoked, rotated, listed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ledger.app.vocabulary import ROLES
from ledger.cli.context import KeyOption, echo_json, naming, open_ledger, signing_key

signer_app = typer.Typer(
    help="Enrol, revoke and list the keys allowed to sign.", no_args_is_help=True
)


@signer_app.command("add")
def signer_add(
    ctx: typer.Context,
    pub: Annotated[Path, typer.Option("--pub", help="The public key file to enrol (PATH.pub).")],
    name: Annotated[str, typer.Option("--name", help="Whose key it is.")],
    role: Annotated[
        list[str],
        typer.Option("--role", help=f"A role to grant (repeatable): {', '.join(ROLES)}."),
    ],
    key: KeyOption,
) -> None:
    """Enrol a key with its roles (needs an admin key)."""
    from ledger.app import commands, keyfiles

    public = keyfiles.load_public_key(pub)
    ledger = open_ledger(ctx)
    with naming({"name": "--name", "roles": "--role"}):
        entry = commands.enrol_signer(ledger, signing_key(key), public, name, role)
    typer.echo(f"enrolled {public.key_id} ({name}) at event {entry.envelope.seq}", err=True)


@signer_app.command("revoke")
def signer_revoke(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="The key id to revoke (see: ledger signer list).")],
    reason: Annotated[str, typer.Option("--reason", help="Why, for the record.")],
    key: KeyOption,
) -> None:
    """Revoke a key (needs an admin key): events it signs afterwards fail verification."""
    from ledger.app import commands

    ledger = open_ledger(ctx)
    with naming({"reason": "--reason"}):
        entry = commands.revoke_signer(ledger, signing_key(key), key_id, reason)
    typer.echo(f"revoked {key_id} at event {entry.envelope.seq}", err=True)


@signer_app.command("rotate")
def signer_rotate(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="The key id to replace (see: ledger signer list).")],
    pub: Annotated[Path, typer.Option("--pub", help="The new public key file (PATH.pub).")],
    key: Annotated[
        Path, typer.Option("--key", help="The old private key itself, or an admin's key.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why, for the record.")] = (
        "key rotation"
    ),
) -> None:
    """Replace a key: the new key takes the old one's name and roles; events the old key signs
    afterwards fail verification, those it signed before stay valid."""
    from ledger.app import commands, keyfiles

    public = keyfiles.load_public_key(pub)
    ledger = open_ledger(ctx)
    with naming({"reason": "--reason"}):
        entry = commands.rotate_signer(ledger, signing_key(key), key_id, public, reason)
    typer.echo(f"rotated {key_id} to {public.key_id} at event {entry.envelope.seq}", err=True)


@signer_app.command("list")
def signer_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """List enrolled keys, their roles and revocations."""
    from ledger.app import commands

    rows = commands.signers(open_ledger(ctx, read_only=True))
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        status = f"revoked at {r['revoked_seq']}" if r["revoked_seq"] else "active"
        typer.echo(f"{r['key_id']}  {','.join(r['roles']):<24} {status:<16} {r['name']}")
