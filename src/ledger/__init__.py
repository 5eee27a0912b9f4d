"""coop-ledger: a signed, append-only audit ledger for Belgian social-enterprise cooperatives.

Layers point one way (docs/ARCHITECTURE.md; ``tests/test_architecture.py`` holds the code to it):
``cli`` → ``app`` → ``reporting`` → ``projections`` → ``chain`` (write, verify, audit) →
``store`` (SQLite, PostgreSQL) → ``tlog`` (Merkle tree, signed notes, checkpoints) → ``core``
(canonical bytes, envelopes, event types, keys, signers, the rulebook), beside ``errors``,
``resources`` and ``files``. ``core`` and ``tlog`` are pure.

The public face, loaded when first used (so that ``import ledger`` costs nothing):

- ``ledger.compliance(events, year, as_known_at=None)``: the compliance projection, a pure fold;
- ``ledger.Ledger``: one ledger in a store, and the one way to write it;
- ``ledger.verify_ledger(store, ledger_id)``: every rule, every event.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["Ledger", "compliance", "verify_ledger"]
__version__ = "0.1.0"

_FACE = {
    "compliance": "ledger.projections.projection",
    "Ledger": "ledger.chain.ledger",
    "verify_ledger": "ledger.chain.verify",
}


def __getattr__(name: str) -> Any:
    if name in _FACE:
        return getattr(importlib.import_module(_FACE[name]), name)
    raise AttributeError(f"module 'ledger' has no attribute {name!r}")
