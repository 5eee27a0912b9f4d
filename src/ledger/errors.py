"""One error hierarchy; the exit code a command returns travels with the error.

Exit codes (a contract with outside scripts): 0 ok, 1 integrity failure, 2 usage or bad input
(nothing written), 3 store or environment failure (database unreachable, disk full).
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every error coop-ledger raises on purpose."""

    exit_code = 3


class InputError(LedgerError):
    """Bad input: names the field, the value and what is expected. Nothing was written."""

    exit_code = 2

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class KeyFileError(InputError):
    """A key file that cannot be used (missing, loose permissions, wrong passphrase)."""


class IntegrityError(LedgerError):
    """The ledger or a bundle failed verification; ``seq`` names the first bad event."""

    exit_code = 1

    def __init__(self, seq: int, reason: str, detail: str) -> None:
        super().__init__(f"event {seq}: {reason}: {detail}")
        self.seq = seq
        self.reason = reason
        self.detail = detail


class StoreError(LedgerError):
    """The store or the environment failed (unreachable database, locked, disk full)."""

    exit_code = 3


class LedgerStateError(InputError):
    """The command does not fit the ledger's state (no ledger yet, one exists already)."""

    def __init__(self, message: str) -> None:
        super().__init__("ledger", message)
