"""Who may sign what, at each point of the ledger: a pure fold over the signer events.

The genesis event enrols the founding key; ``SignerEnrolled`` and ``SignerRevoked`` (signed by an
admin) change the set, and ``SignerKeyRotated`` (signed by an admin or by the old key itself)
hands a signer's name and roles to a new key and retires the old one. An event is authorised
when its signer was enrolled before it, was not revoked before it, and holds a role allowed for
its type (``catalogue.SIGNING_ROLES``).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, replace
from typing import Any

from ledger.core.catalogue import SIGNING_ROLES
from ledger.core.envelope import Envelope
from ledger.core.keys import key_id
from ledger.errors import InputError


@dataclass(frozen=True, slots=True)
class Signer:
    key_id: str
    public_key: bytes
    name: str
    roles: frozenset[str]
    enrolled_seq: int
    revoked_seq: int | None = None
    revoked_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an event may not stand at its place; ``reason`` is a stable short code, ``field``
    the payload field at fault when one is (an input error names it)."""

    reason: str
    detail: str
    field: str = ""

    def error(self) -> InputError:
        """The refusal as the input error a writer gets: the field at fault, else the key."""
        if self.field:
            return InputError(self.field, self.detail)
        return InputError("key", f"{self.reason}: {self.detail}")

    def described(self) -> str:
        """The refusal's detail, naming its field: what a verification failure says."""
        return f"{self.field}: {self.detail}" if self.field else self.detail


def public_key_of(payload: dict[str, Any]) -> bytes | None:
    """The raw public key an enrolment payload carries, if it is well-formed base64."""
    data = payload.get("founder", payload)
    try:
        raw = base64.b64decode(str(data.get("public_key", "")), validate=True)
    except (ValueError, AttributeError):  # binascii.Error, or a character outside ASCII
        return None
    return raw if len(raw) == 32 else None


@dataclass(slots=True)
class Registry:
    """The signers known after some prefix of the ledger."""

    signers: dict[str, Signer] = field(default_factory=dict)

    def check(self, env: Envelope) -> Refusal | None:
        """Whether ``env`` may be appended after the events folded so far."""
        if env.type == "LedgerOpened" or env.seq == 1:
            return self._check_genesis(env)
        signer = self.signers.get(env.signer)
        if signer is None:
            return Refusal("unknown-signer", f"key {env.signer} is not enrolled in this ledger")
        if signer.revoked_seq is not None:
            return Refusal(
                "revoked-signer",
                f"key {env.signer} ({signer.name}) was revoked at event {signer.revoked_seq}",
            )
        allowed = SIGNING_ROLES.get(env.type)
        if allowed is None:
            return Refusal("unknown-type", f"no event type {env.type} in the catalogue")
        rotating_itself = env.type == "SignerKeyRotated" and env.payload.get("key_id") == env.signer
        if not signer.roles & allowed and not rotating_itself:
            return Refusal(
                "role-not-allowed",
                f"{env.type} needs role {' or '.join(sorted(allowed))}; key {env.signer} "
                f"({signer.name}) has {', '.join(sorted(signer.roles))}",
            )
        return self._check_registry_payload(env)

    def _check_genesis(self, env: Envelope) -> Refusal | None:
        if env.seq != 1 or env.type != "LedgerOpened":
            return Refusal("misplaced-genesis", "a ledger opens with LedgerOpened at seq 1, only")
        founder = env.payload.get("founder", {})
        raw = public_key_of(env.payload)
        if raw is None or key_id(raw) != founder.get("key_id") or env.signer != key_id(raw):
            return Refusal("bad-genesis", "the genesis event must be signed by the founding key")
        if "admin" not in founder.get("roles", ()):
            return Refusal("bad-genesis", "the founding key must hold the admin role")
        return None

    def _check_registry_payload(self, env: Envelope) -> Refusal | None:
        if env.type == "SignerEnrolled":
            raw = public_key_of(env.payload)
            if raw is None or key_id(raw) != env.payload.get("key_id"):
                return Refusal("bad-payload", "key_id is not derived from public_key")
            if env.payload["key_id"] in self.signers:
                return Refusal("bad-payload", f"key {env.payload['key_id']} is enrolled already")
        if env.type == "SignerKeyRotated":
            raw = public_key_of(env.payload)
            if raw is None or key_id(raw) != env.payload.get("new_key_id"):
                return Refusal("bad-payload", "new_key_id is not derived from public_key")
            if env.payload["new_key_id"] in self.signers:
                return Refusal(
                    "bad-payload", f"key {env.payload['new_key_id']} is enrolled already"
                )
        if env.type in ("SignerRevoked", "SignerKeyRotated"):
            target = self.signers.get(env.payload.get("key_id", ""))
            if target is None:
                return Refusal("bad-payload", f"no enrolled key {env.payload.get('key_id')}")
            if target.revoked_seq is not None:
                return Refusal("bad-payload", f"key {target.key_id} is revoked already")
        return None

    def apply(self, env: Envelope) -> None:
        """Fold an event that ``check`` accepted."""
        if env.type in ("LedgerOpened", "SignerEnrolled"):
            data = env.payload.get("founder", env.payload)
            raw = public_key_of(env.payload)
            assert raw is not None  # check() accepted it
            self.signers[data["key_id"]] = Signer(
                key_id=data["key_id"],
                public_key=raw,
                name=data["name"],
                roles=frozenset(data["roles"]),
                enrolled_seq=env.seq,
            )
        elif env.type == "SignerRevoked":
            kid = env.payload["key_id"]
            self.signers[kid] = replace(
                self.signers[kid], revoked_seq=env.seq, revoked_reason=env.payload["reason"]
            )
        elif env.type == "SignerKeyRotated":
            old = self.signers[env.payload["key_id"]]
            new = env.payload["new_key_id"]
            raw = public_key_of(env.payload)
            assert raw is not None  # check() accepted it
            self.signers[old.key_id] = replace(
                old,
                revoked_seq=env.seq,
                revoked_reason=f"rotated to {new}: {env.payload['reason']}",
            )
            self.signers[new] = Signer(
                key_id=new, public_key=raw, name=old.name, roles=old.roles, enrolled_seq=env.seq
            )
