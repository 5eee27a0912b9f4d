"""What amending the statutes takes: the majority of the votes cast the assembly needs to adopt
or repeal an article. The law sets one for any amendment and a higher one for the object or the
purpose (``projections/conditions.toml``, ``[amendment]``); an article of the statutes in force
may set a higher one still. Derived from what a resolution does, the article it adopts or
repeals, never from the ``majority_required`` the secretary typed (docs/COMPLIANCE.md,
"Statute amendments"). Pure: the rulebook says which articles are in force.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ledger.core.conditions import MAJORITIES, Amendment


@dataclass(frozen=True, slots=True)
class Article:
    """An article of the statutes in force, as an amendment reads it."""

    number: str
    adoption: int  # the seq of its adoption
    provides: frozenset[str]  # the conditions it provides for
    amendment_majority: str | None  # the majority it sets for amending the statutes, if any


@dataclass(frozen=True, slots=True)
class Requirement:
    """The majority an amendment needs, and what requires it (the law, or an article)."""

    majority: str
    source: str


def required(
    number: str, provides: Iterable[str], in_force: Mapping[str, Article], law: Amendment
) -> Requirement:
    """The majority needed to adopt (``provides``: what the new text provides for) or repeal
    (``provides`` empty) article ``number``, given the articles in force before it."""
    touched = set(provides)
    replaced = in_force.get(number)
    if replaced is not None:
        touched |= replaced.provides
    if touched & law.object_conditions:
        needed = Requirement(law.object_majority, _law(law.object_source, "the object or purpose"))
    else:
        needed = Requirement(law.majority, _law(law.source, "a statute amendment"))
    for article in sorted(in_force.values(), key=lambda a: a.adoption):
        stricter = article.amendment_majority
        if stricter is not None and stronger(stricter, needed.majority):
            needed = Requirement(stricter, f"article {article.number} of the statutes")
    return needed


def stronger(one: str, other: str) -> bool:
    """Whether majority ``one`` asks more than ``other`` (``conditions.MAJORITIES``)."""
    return MAJORITIES.index(one) > MAJORITIES.index(other)


def _law(source: str, what: str) -> str:
    article = source.split(" (", 1)[0]
    return f"the law for {what} ({article})"
