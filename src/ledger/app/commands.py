"""What the ledger's commands do to a ledger, as library functions: each takes typed arguments,
builds its event, appends it through ``Ledger.append`` (where the rulebook judges it) and
returns what it recorded. Input errors name the payload field at fault (``roles``, ``reason``,
``replacement.value``…); the CLI says which of its options that is. The CLI parses, calls one of
these, prints; tests and the bench call them as well.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from ledger.app import forms
from ledger.chain.ledger import Ledger, holding, parse_row
from ledger.core import canonical, catalogue, rulebook, values
from ledger.core.draft import Draft
from ledger.core.envelope import Entry
from ledger.core.keys import PublicKey, SigningKey
from ledger.errors import InputError, LedgerError
from ledger.store import Store, is_postgres, open_store


def open_ledger(target: str | Store, enterprise: str, number: str, key: SigningKey) -> Ledger:
    """A new ledger in the store ``target`` is or names, its genesis signed by ``key`` (who
    becomes its admin and secretary). ``number`` is any spelling of an enterprise number."""
    number = values.enterprise_number("number", number)
    if not enterprise.strip():
        raise InputError("enterprise", "the enterprise name is empty")
    return Ledger.create(target, enterprise=enterprise, number=number, key=key)


def beside(target: str, number: str) -> list[tuple[Path, str]]:
    """Other SQLite files in the folder of ``target`` that hold a ledger of the enterprise
    ``number``, as (file, ledger id): an ``init`` in the wrong folder, or under another name,
    opens a second ledger of an enterprise that has one."""
    if is_postgres(target):
        return []
    here = Path(target).absolute()
    found = []
    for path in sorted(here.parent.glob("*.db")):
        if path == here or not _is_sqlite(path):
            continue
        try:
            store = open_store(str(path), read_only=True)
        except (LedgerError, OSError):
            continue  # not a store of ours, or not readable: nothing to say of it
        try:
            summary = holding(store, number)
        finally:
            store.close()
        if summary is not None:
            found.append((path, str(summary.id)))
    return found


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def enrolment(public: PublicKey, name: str, roles: Iterable[str]) -> Draft:
    """The ``SignerEnrolled`` of ``public`` with these roles (in the catalogue's order)."""
    wanted = list(roles)
    for role in wanted:
        if role not in catalogue.ROLES:
            raise InputError(
                "roles", f"{role!r} is not a role; expected one of {', '.join(catalogue.ROLES)}"
            )
    payload = {
        "key_id": public.key_id,
        "public_key": public.b64,
        "name": name,
        "roles": sorted(set(wanted), key=catalogue.ROLES.index),
    }
    return Draft("SignerEnrolled", payload)


def enrol_signer(
    ledger: Ledger, key: SigningKey, public: PublicKey, name: str, roles: Iterable[str]
) -> Entry:
    """Enrol ``public`` under ``name`` with ``roles`` (``key`` must be an admin's)."""
    return _one(ledger, key, enrolment(public, name, roles))


def revoke_signer(ledger: Ledger, key: SigningKey, key_id: str, reason: str) -> Entry:
    """Revoke the key ``key_id``: what it signs afterwards fails verification."""
    return _one(ledger, key, Draft("SignerRevoked", {"key_id": key_id, "reason": reason}))


def rotate_signer(
    ledger: Ledger, key: SigningKey, key_id: str, public: PublicKey, reason: str
) -> Entry:
    """Hand the name and roles of ``key_id`` to ``public`` and retire ``key_id`` (``key`` is
    the old key itself, or an admin's)."""
    payload = {
        "key_id": key_id,
        "new_key_id": public.key_id,
        "public_key": public.b64,
        "reason": reason,
    }
    return _one(ledger, key, Draft("SignerKeyRotated", payload))


def correct(
    ledger: Ledger, key: SigningKey, seq: int, reason: str, assignments: Sequence[str]
) -> Entry:
    """Correct event ``seq``: an ``EventCorrected`` with its whole payload, the ``FIELD=VALUE``
    ``assignments`` applied (``forms.corrected``). Never an edit."""
    target = ledger.entry(seq).envelope
    replacement = forms.corrected(target.type, target.payload, list(assignments))
    payload = {"event": seq, "reason": reason, "replacement": replacement}
    return _one(ledger, key, Draft("EventCorrected", payload))


def record_figures(
    ledger: Ledger,
    key: SigningKey,
    text: str,
    year: int,
    source: str,
    *,
    new_metric: bool = False,
    again: bool = False,
) -> list[Entry]:
    """A year's figures from a CSV file (``forms.metrics_csv``), all or none. A figure name the
    ledger has not seen is refused, with the names it is close to, unless ``new_metric`` (a
    ledger with no figure yet knows none, and takes any); figures the ledger already holds for
    the year, every one, are refused unless ``again``."""
    drafts = forms.metrics_csv(text, year, source)
    held = [parse_row(r).envelope for r in ledger.store.read_topics(ledger.id, ["MetricSubmitted"])]
    known = {e.payload["name"] for e in held}
    if known and not new_metric:
        for draft in drafts:
            name = draft.payload["name"]
            if name not in known:
                close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6)
                hint = f"; did you mean {' or '.join(close)}?" if close else ""
                raise InputError(
                    f"{draft.where} name",
                    f"{name!r} is not a figure this ledger holds{hint} (--new-metric to record a "
                    "new one)",
                )
    if not again:
        recorded = {_figure(e.payload) for e in held if e.payload.get("year") == year}
        if all(_figure(d.payload) in recorded for d in drafts):
            raise InputError(
                source,
                f"the ledger holds these {len(drafts)} figures for {year} already (--again to "
                "record them once more)",
            )
    return ledger.append(key, drafts)


def _figure(payload: dict[str, Any]) -> bytes:
    return canonical.encode(payload)


def retract(ledger: Ledger, key: SigningKey, seq: int, reason: str) -> Entry:
    """Retract event ``seq``, recorded in error: an ``EventRetracted``. Never a deletion."""
    [entry] = retract_all(ledger, key, [seq], reason)
    return entry


def retract_all(ledger: Ledger, key: SigningKey, seqs: Sequence[int], reason: str) -> list[Entry]:
    """Retract each of ``seqs``, one ``EventRetracted`` each, all or none."""
    drafts = [Draft("EventRetracted", {"event": seq, "reason": reason}) for seq in seqs]
    return ledger.append(key, drafts)


def retract_run(ledger: Ledger, key: SigningKey, run: str, reason: str) -> list[Entry]:
    """``retract_all`` of a run as typed: ``55`` or ``55..62`` (``InputError`` on ``event``)."""
    return retract_all(ledger, key, values.seq_run("event", run), reason)


def redact(ledger: Ledger, key: SigningKey, seq: int, name: str, reason: str) -> Entry:
    """Erase the clear value of personal field ``name`` of event ``seq``: a
    ``PersonalDataRedacted``; its salted commitment stays signed."""
    payload = {"event": seq, "field": name, "reason": reason}
    return _one(ledger, key, Draft("PersonalDataRedacted", payload))


def record_provisions(
    ledger: Ledger,
    key: SigningKey,
    number: str,
    provides: Iterable[str],
    note: str | None = None,
    *,
    amendment_majority: str | None = None,
) -> Entry:
    """Record what article ``number`` provides for (condition ids, any case), as its adoption
    in force: a StatuteArticleProvisionsRecorded of that adoption. ``amendment_majority``: the
    majority the article sets for amending the statutes, ``LAW`` for none (the law's); None
    keeps what its adoption, or the last record of its provisions, set."""
    changes = [
        parse_row(row).envelope
        for row in ledger.store.read_topics(ledger.id, list(rulebook.STATUTE_CHANGES))
    ]
    # In force: the last adoption or repeal of the number effective by today, as the
    # projection reads the statutes (by effective date); a change effective later is not yet.
    today = date.today().isoformat()
    of_number = sorted(
        (env.effective, env.seq, env) for env in changes if env.payload.get("number") == number
    )
    current = [env for effective, _, env in of_number if effective <= today]
    candidates = current or [env for _, _, env in of_number]
    last = candidates[-1] if candidates else None
    majority: str | None = None
    if last is not None:
        majority = last.payload.get("amendment_majority")
        for env in changes:
            if env.seq > last.seq and env.payload.get("adoption") == last.seq:
                majority = env.payload.get("amendment_majority")
    if last is None:
        raise InputError(
            "article", f"no article {number} in this ledger; record it with: ledger record article"
        )
    if last.type == "StatuteArticleRepealed":
        raise InputError("article", f"article {number} was repealed by event {last.seq}")
    payload: dict[str, Any] = {
        "adoption": last.seq,
        "provides": list(dict.fromkeys(p.strip().upper() for p in provides)),
    }
    if amendment_majority is not None:
        majority = None if amendment_majority == LAW else amendment_majority
    if majority is not None:
        payload["amendment_majority"] = majority
    if note is not None:
        payload["note"] = note
    return _one(ledger, key, Draft("StatuteArticleProvisionsRecorded", payload))


# ``record_provisions``: the article sets no majority of its own, the law's applies.
LAW = "law"


def signers(ledger: Ledger) -> list[dict[str, Any]]:
    """The keys enrolled, their roles and revocations, as stored (verify proves them)."""
    return [
        {
            "key_id": s.key_id,
            "name": s.name,
            "roles": sorted(s.roles, key=catalogue.ROLES.index),
            "enrolled_seq": s.enrolled_seq,
            "revoked_seq": s.revoked_seq,
            "revoked_reason": s.revoked_reason,
        }
        for s in ledger.registry().signers.values()
    ]


def last_of(ledger: Ledger, event_type: str) -> int | None:
    """The sequence number of the last event of ``event_type``, if any (read by its type)."""
    rows = ledger.store.read_topics(ledger.id, [event_type])
    return rows[-1].seq if rows else None


def _one(ledger: Ledger, key: SigningKey, draft: Draft) -> Entry:
    [entry] = ledger.append(key, [draft])
    return entry
