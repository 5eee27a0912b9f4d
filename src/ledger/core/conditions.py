"""The accreditation conditions and their legal parameters, read from
``projections/conditions.toml`` (data, not code; docs/COMPLIANCE.md). In ``core`` because events
name conditions (a board review, the conditions an article provides for) and the rulebook checks
those names; the projection evaluates them."""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ledger.errors import InputError
from ledger.resources import data_dir

# The languages the conditions are titled in, and the reports written in.
LANGUAGES = ("fr", "nl", "en")


def language(field: str, lang: str) -> str:
    """``lang`` if the conditions and the report have it, else ``InputError`` naming ``field``."""
    if lang not in LANGUAGES:
        raise InputError(field, f"{lang!r}; expected one of {', '.join(LANGUAGES)}")
    return lang


CHECKS = frozenset(
    {
        "articles",
        "vote_cap",
        "dividend_cap",
        "reserve_first",
        "repayment_cap",
        "remuneration",
        "special_report",
        "board_review",
        "open_membership",
    }
)


# The majorities an assembly decides by (ResolutionVoted.majority_required), weakest first: a
# later one carries a resolution only where every earlier one does (semantics.majority_reached).
MAJORITIES = ("simple", "two_thirds", "three_quarters", "four_fifths", "unanimity")


@dataclass(frozen=True, slots=True)
class Amendment:
    """What the law requires of the assembly to amend the statutes (``[amendment]``)."""

    majority: str
    source: str
    object_conditions: frozenset[str]  # an article providing for one is the object or purpose
    object_majority: str
    object_source: str


@dataclass(frozen=True, slots=True)
class Condition:
    id: str
    accreditation: str
    titles: dict[str, str]  # language → title
    source: str
    checks: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    value: Decimal
    valid_from: date
    valid_until: date | None
    source: str


@dataclass(frozen=True, slots=True)
class Rules:
    conditions: tuple[Condition, ...]
    parameters: tuple[Parameter, ...]
    amendment: Amendment

    def parameter(self, name: str, on: date) -> Decimal:
        """The value of ``name`` in force on ``on``; ``KeyError`` when none is."""
        for p in self.parameters:
            if (
                p.name == name
                and p.valid_from <= on
                and (p.valid_until is None or on < p.valid_until)
            ):
                return p.value
        raise KeyError(f"no {name} in force on {on}")


def parse(text: str) -> Rules:
    """Rules from TOML text; ``ValueError`` on anything unexpected (they are a contract)."""
    doc = tomllib.loads(text)
    if doc.get("version") != 2:
        raise ValueError("conditions: expected version = 2")
    conditions = []
    for c in doc["condition"]:
        unknown = set(c["checks"]) - CHECKS
        if unknown:
            raise ValueError(f"condition {c['id']}: unknown checks {sorted(unknown)}")
        conditions.append(
            Condition(
                id=c["id"],
                accreditation=c["accreditation"],
                titles={lang: c[f"title_{lang}"] for lang in LANGUAGES},
                source=c["source"],
                checks=tuple(c["checks"]),
            )
        )
    ids = [c.id for c in conditions]
    if len(set(ids)) != len(ids):
        raise ValueError("conditions: duplicate ids")
    parameters = tuple(
        Parameter(
            p["name"],
            Decimal(p["value"]),
            date.fromisoformat(p["valid_from"]),
            date.fromisoformat(p["valid_until"]) if "valid_until" in p else None,
            p["source"],
        )
        for p in doc["parameter"]
    )
    return Rules(tuple(conditions), parameters, _amendment(doc["amendment"], set(ids)))


def _amendment(table: dict[str, Any], ids: set[str]) -> Amendment:
    found = Amendment(
        majority=str(table["majority"]),
        source=str(table["source"]),
        object_conditions=frozenset(str(c) for c in table["object_conditions"]),
        object_majority=str(table["object_majority"]),
        object_source=str(table["object_source"]),
    )
    for name in (found.majority, found.object_majority):
        if name not in MAJORITIES:
            raise ValueError(f"amendment: unknown majority {name!r}")
    if not found.object_conditions <= ids:
        raise ValueError(f"amendment: unknown conditions {sorted(found.object_conditions - ids)}")
    return found


@functools.cache
def ids() -> tuple[str, ...]:
    """The conditions' ids, in the rules' order: what an event may name."""
    return tuple(c.id for c in load().conditions)


@functools.cache
def by_articles() -> frozenset[str]:
    """The conditions judged by the articles of the statutes: those an article may provide for."""
    return frozenset(c.id for c in load().conditions if "articles" in c.checks)


@functools.cache
def load() -> Rules:
    return parse((data_dir("projections") / "conditions.toml").read_text(encoding="utf-8"))
