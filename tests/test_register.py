"""The share register: members admitted, shares subscribed, transferred and given up, read back
as the members and capital of any day; what cannot be (a transfer of shares not held) refused
when recorded, nothing written; names kept as personal data, erasable."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson
import pytest
from conftest import Result

from ledger.core import register


def test_the_register_folds_what_each_event_moves() -> None:
    held = register.fold(
        [
            ("MemberAdmitted", {"member_number": "B-1", "shares": 4, "nominal_value": "100",
                                "amount_paid_in": "100"}),
            ("MemberAdmitted", {"member_number": "B-2", "shares": 1, "nominal_value": "25",
                                "amount_paid_in": "10"}),
            ("SharesTransferred", {"from_member": "B-1", "to_member": "B-2", "shares": 4,
                                   "nominal_value": "100", "amount_paid_in": "100"}),
            ("ShareholderResigned", {"member_number": "B-9", "shares": 1, "nominal_value": "25",
                                     "amount_paid_in": "25", "amount_repaid": "25"}),
        ]
    )  # fmt: skip
    assert held["B-2"] == register.Holding(5, Decimal(125), Decimal(110))
    assert register.members(held) == {"B-2": held["B-2"]}  # B-1 gave all; B-9 never admitted
    assert register.problem(held, "SharesSubscribed", {"member_number": "B-1"}) == (
        "member_number",
        "B-1 is not a member in the register; admit them first with: ledger record member",
    )
    resigning = {"member_number": "B-2", "shares": 6}
    assert register.problem(held, "ShareholderResigned", resigning) == (
        "shares",
        "6 shares, but member B-2 holds 5 in the register",
    )
    # A resignation of a member the register never admitted is not held to a holding.
    assert (
        register.problem(held, "ShareholderResigned", {"member_number": "Z", "shares": 9}) is None
    )


@pytest.fixture
def members(opened: dict[str, Any], cli: Callable[..., Result]) -> Callable[..., Result]:
    """The treasurer's CLI on a ledger with a share register."""
    key = str(opened["treasurer"])

    def record(*args: str) -> Result:
        return cli("record", *args, "--key", key)

    for number, day, shares in (("B-1", "2024-02-01", 40), ("B-2", "2024-03-01", 4)):
        value = str(25 * shares)
        done = record("member", "--member-number", number, "--admitted-on", day, "--shares",
                      str(shares), "--nominal-value", value, "--amount-paid-in", value,
                      "--member-name", f"Membre {number}")  # fmt: skip
        assert done.code == 0, done.err
    return record


def test_members_and_capital_on_any_day(
    members: Callable[..., Result], cli: Callable[..., Result], opened: dict[str, Any]
) -> None:
    steps = [
        ("shares", "--member-number", "B-2", "--subscribed-on", "2024-06-01", "--shares", "6",
         "--nominal-value", "150", "--amount-paid-in", "150"),
        ("share-transfer", "--from", "B-1", "--to", "B-2", "--transferred-on", "2024-09-01",
         "--shares", "10", "--nominal-value", "250", "--amount-paid-in", "250"),
        ("resignation", "--member-number", "B-1", "--shares", "30", "--nominal-value", "750",
         "--amount-paid-in", "750", "--amount-repaid", "750", "--repaid-on", "2025-01-31"),
    ]  # fmt: skip
    for step in steps:
        done = members(*step)
        assert done.code == 0, done.err
    at = {day: orjson.loads(cli("members", "--on", day, "--json").out)
          for day in ("2024-01-31", "2024-03-01", "2024-12-31", "2025-02-01")}  # fmt: skip
    assert at["2024-01-31"]["members"] == 0
    assert [(h["member_number"], h["shares"]) for h in at["2024-03-01"]["holdings"]] == [
        ("B-1", 40), ("B-2", 4)
    ]  # fmt: skip
    assert (at["2024-12-31"]["shares"], at["2024-12-31"]["nominal_value"]) == (50, "1250")
    assert [(h["member_number"], h["shares"]) for h in at["2024-12-31"]["holdings"]] == [
        ("B-1", 30), ("B-2", 20)
    ]  # fmt: skip
    assert at["2025-02-01"] | {"holdings": None} == {
        "on": "2025-02-01", "as_known_at": None, "size": at["2025-02-01"]["size"],
        "members": 1, "shares": 20, "nominal_value": "500", "amount_paid_in": "500",
        "holdings": None,
    }  # fmt: skip
    text = cli("members", "--on", "2024-12-31").out
    assert text.splitlines()[0].endswith(
        "as known now: 2 members, 50 shares, nominal 1250 EUR, paid in 1250 EUR"
    )
    assert "Membre" not in text  # names are personal data, never listed
    assert "no member" in cli("members", "--on", "2023-12-31").out
    refused = cli("members", "--on", "2024-02-30")
    assert refused.code == 2 and refused.err.startswith("error: --on: ")
    assert cli("verify").code == 0


REFUSED = [
    (("share-transfer", "--from", "B-2", "--to", "B-1", "--transferred-on", "2024-09-01",
      "--shares", "5", "--nominal-value", "125", "--amount-paid-in", "125"),
     "error: --shares: 5 shares, but member B-2 holds 4 in the register"),
    (("share-transfer", "--from", "B-2", "--to", "B-2", "--transferred-on", "2024-09-01",
      "--shares", "1", "--nominal-value", "25", "--amount-paid-in", "25"),
     "error: --to: B-2 is the member giving the shares; name another member"),
    (("shares", "--member-number", "B-7", "--subscribed-on", "2024-06-01", "--shares", "1",
      "--nominal-value", "25", "--amount-paid-in", "25"),
     "error: --member-number: B-7 is not a member in the register; admit them first with: "
     "ledger record member"),
    (("member", "--member-number", "B-1", "--admitted-on", "2024-06-01", "--shares", "1",
      "--nominal-value", "25", "--amount-paid-in", "25"),
     "error: --member-number: member B-1 is in the register already, with 40 shares; record "
     "further shares with: ledger record shares"),
    (("resignation", "--member-number", "B-2", "--shares", "5", "--nominal-value", "125",
      "--amount-paid-in", "125", "--amount-repaid", "125", "--repaid-on", "2025-01-31"),
     "error: --shares: 5 shares, but member B-2 holds 4 in the register"),
]  # fmt: skip


@pytest.mark.parametrize("args,message", REFUSED, ids=lambda v: str(v)[:30])
def test_what_the_register_cannot_hold_is_refused_and_nothing_written(
    members: Callable[..., Result], opened: dict[str, Any], args: tuple[str, ...], message: str
) -> None:
    before = opened["db"].rows()
    done = members(*args)
    assert (done.code, done.err.strip()) == (2, message)
    assert opened["db"].rows() == before


def test_a_correction_is_held_to_the_register_too(
    members: Callable[..., Result], cli: Callable[..., Result], opened: dict[str, Any]
) -> None:
    transfer = members("share-transfer", "--from", "B-1", "--to", "B-2", "--transferred-on",
                       "2024-09-01", "--shares", "10", "--nominal-value", "250",
                       "--amount-paid-in", "250")  # fmt: skip
    seq = transfer.out.strip()
    before = opened["db"].rows()
    refused = cli("correct", seq, "--reason", "typo", "--set", "shares=41", "--key",
                  str(opened["treasurer"]))  # fmt: skip
    assert refused.code == 2, refused.err
    assert "41 shares, but member B-1 holds 40 in the register" in refused.err
    assert opened["db"].rows() == before
    fixed = cli("correct", seq, "--reason", "typo", "--set", "shares=12", "--key",
                str(opened["treasurer"]))  # fmt: skip
    assert fixed.code == 0, fixed.err
    found = orjson.loads(cli("members", "--on", "2024-12-31", "--json").out)
    assert [(h["member_number"], h["shares"]) for h in found["holdings"]] == [
        ("B-1", 28), ("B-2", 16)
    ]  # fmt: skip


def test_a_members_name_is_personal_data_and_erasable(
    members: Callable[..., Result], cli: Callable[..., Result], opened: dict[str, Any]
) -> None:
    log = [orjson.loads(line) for line in cli("log", "--json").out.splitlines()]
    [admission] = [e for e in log if e["payload"].get("member_number") == "B-2"]
    shown = orjson.loads(cli("show", str(admission["seq"]), "--json").out)
    assert shown["payload"]["member_name"] == "Membre B-2"
    assert shown["signed_payload"]["member_name"].startswith("sha256:")  # a salted commitment
    done = cli("redact", str(admission["seq"]), "--field", "member_name", "--reason",
               "left, asked", "--key", str(opened["founder"]))  # fmt: skip
    assert done.code == 0, done.err
    erased = orjson.loads(cli("show", str(admission["seq"]), "--json").out)
    assert erased["payload"]["member_name"] == "[redacted]"
    assert erased["signed_payload"] == shown["signed_payload"]
    assert cli("verify").code == 0
