"""The share register (CSA: the register of the cooperative's shares): who is a member, with how
many shares, of what nominal value, paid in how far. Folded from the register's events in the
order given; pure. The rulebook folds them in ledger order to refuse what cannot be (a transfer
of shares a member does not hold); the projections fold them by effective date to say who the
members were on any day.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

# The events that change a holding. A resignation (ShareholderResigned) gives up shares too,
# but a ledger may hold resignations of members it never admitted (kept before the register
# was): only the members it admitted are held to their holding.
ADMISSION = "MemberAdmitted"
CHANGES = frozenset({ADMISSION, "SharesSubscribed", "SharesTransferred", "ShareholderResigned"})


@dataclass(frozen=True, slots=True)
class Holding:
    shares: int = 0
    nominal_value: Decimal = Decimal(0)
    amount_paid_in: Decimal = Decimal(0)

    def add(self, shares: int, nominal: Any, paid_in: Any) -> Holding:
        return Holding(
            self.shares + shares,
            self.nominal_value + Decimal(nominal),
            self.amount_paid_in + Decimal(paid_in),
        )


Register = dict[str, Holding]  # member number -> holding (0 shares: no longer a member)


def problem(
    held: Mapping[str, Holding], event_type: str, payload: Mapping[str, Any]
) -> tuple[str, str] | None:
    """Why the register event ``payload`` cannot follow the holdings ``held``, as (its field,
    why); None when it can."""
    shares = payload.get("shares", 0)
    if event_type == ADMISSION:
        member = payload["member_number"]
        if held.get(member, Holding()).shares > 0:
            return "member_number", (
                f"member {member} is in the register already, with {held[member].shares} "
                "shares; record further shares with: ledger record shares"
            )
        return None
    if event_type == "SharesSubscribed":
        return _admitted(held, "member_number", payload["member_number"])
    if event_type == "SharesTransferred":
        giver, taker = payload["from_member"], payload["to_member"]
        if giver == taker:
            return "to_member", f"{taker} is the member giving the shares; name another member"
        return (
            _admitted(held, "from_member", giver)
            or _admitted(held, "to_member", taker)
            or _holds(held, "shares", giver, shares)
        )
    if event_type == "ShareholderResigned" and payload["member_number"] in held:
        return _holds(held, "shares", payload["member_number"], shares)
    return None


def apply(held: Register, event_type: str, payload: Mapping[str, Any]) -> None:
    """Fold one register event into ``held`` (which ``problem`` found it can follow)."""
    shares = int(payload.get("shares", 0))
    nominal, paid_in = payload.get("nominal_value", 0), payload.get("amount_paid_in", 0)
    if event_type in (ADMISSION, "SharesSubscribed"):
        member = payload["member_number"]
        held[member] = held.get(member, Holding()).add(shares, nominal, paid_in)
    elif event_type == "SharesTransferred":
        giver, taker = payload["from_member"], payload["to_member"]
        held[giver] = held.get(giver, Holding()).add(-shares, -Decimal(nominal), -Decimal(paid_in))
        held[taker] = held.get(taker, Holding()).add(shares, nominal, paid_in)
    elif event_type == "ShareholderResigned" and payload["member_number"] in held:
        member = payload["member_number"]
        held[member] = held[member].add(-shares, -Decimal(nominal), -Decimal(paid_in))


def fold(events: Iterable[tuple[str, Mapping[str, Any]]]) -> Register:
    """The register after ``events`` (type, payload), in the order given."""
    held: Register = {}
    for event_type, payload in events:
        apply(held, event_type, payload)
    return held


def members(held: Mapping[str, Holding]) -> dict[str, Holding]:
    """The members of a register: those holding shares."""
    return {m: h for m, h in held.items() if h.shares > 0}


def _admitted(held: Mapping[str, Holding], field: str, member: str) -> tuple[str, str] | None:
    if held.get(member, Holding()).shares > 0:
        return None
    return field, (
        f"{member} is not a member in the register; admit them first with: ledger record member"
    )


def _holds(
    held: Mapping[str, Holding], field: str, member: str, shares: int
) -> tuple[str, str] | None:
    have = held.get(member, Holding()).shares
    if shares <= have:
        return None
    return field, f"{shares} shares, but member {member} holds {have} in the register"
