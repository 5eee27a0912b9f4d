"""Key rotation: a signer replaces a key; events before stay valid, events after with the old key
fail, on both backends, through the real CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from conftest import Result, forge_append, make_key, metric_args, run_here

from ledger.app import keyfiles


def key_id(path: Path) -> str:
    return keyfiles.load_public_key(Path(f"{path}.pub")).key_id


def metric(cli: Callable[..., Result], key: Path, value: str) -> Result:
    return cli(*metric_args(key, value))


def test_a_key_rotates_itself(
    opened: dict[str, Any], cli: Callable[..., Result], tmp_path: Path
) -> None:
    old, new = opened["treasurer"], make_key(tmp_path, "Treasurer 2027")
    assert metric(cli, old, "1").code == 0  # event 7, by the old key
    rotated = cli("signer", "rotate", key_id(old), "--pub", f"{new}.pub", "--key", str(old))
    assert rotated.code == 0, rotated.err
    assert f"rotated {key_id(old)} to {key_id(new)} at event 8" in rotated.err

    signers = {s["key_id"]: s for s in orjson.loads(cli("signer", "list", "--json").out)}
    assert signers[key_id(new)]["roles"] == ["treasurer"]
    assert signers[key_id(new)]["name"] == "Treasurer"  # the signer's name, not the file's
    assert signers[key_id(old)]["revoked_seq"] == 8
    assert signers[key_id(old)]["revoked_reason"] == f"rotated to {key_id(new)}: key rotation"

    assert metric(cli, new, "2").code == 0
    refused = metric(cli, old, "3")
    assert refused.code == 2 and "revoked-signer" in refused.err
    verified = run_here("verify", "--json", cwd=opened["db"].folder)
    assert verified.code == 0 and orjson.loads(verified.out)["events"] == 9

    # Past the CLI, the old key's signature after its rotation fails verification.
    seq = forge_append(opened["db"], old)
    failed = run_here("verify", "--json", cwd=opened["db"].folder)
    assert failed.code == 1
    first = orjson.loads(failed.out)["failures"][0]
    assert (first["seq"], first["reason"]) == (seq, "revoked-signer")


def test_an_admin_rotates_a_lost_key_and_others_may_not(
    opened: dict[str, Any], cli: Callable[..., Result], tmp_path: Path
) -> None:
    new = make_key(tmp_path, "New board key")
    board = opened["board"]
    by_treasurer = cli(
        "signer", "rotate", key_id(board), "--pub", f"{new}.pub", "--key", str(opened["treasurer"])
    )
    assert by_treasurer.code == 2 and "role-not-allowed" in by_treasurer.err
    lost = cli(
        "signer", "rotate", key_id(board), "--pub", f"{new}.pub", "--key", str(opened["founder"]),
        "--reason", "laptop stolen",
    )  # fmt: skip
    assert lost.code == 0, lost.err
    again = cli(
        "signer", "rotate", key_id(opened["treasurer"]), "--pub", f"{new}.pub", "--key",
        str(opened["founder"]),
    )  # fmt: skip
    assert again.code == 2 and "is enrolled already" in again.err
    twice = cli(
        "signer", "rotate", key_id(board), "--pub", f"{opened['treasurer']}.pub", "--key",
        str(opened["founder"]),
    )  # fmt: skip
    assert twice.code == 2
    assert run_here("verify", cwd=opened["db"].folder).code == 0
