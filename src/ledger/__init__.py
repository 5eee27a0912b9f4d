"""coop-ledger: a signed, append-only audit ledger for Belgian social-enterprise cooperatives.

Layers point one way: ``cli`` → ``ledger``/``verify``/``transparency``/``views`` (I/O edges) →
``store`` (eventsourcing) → the pure core (``canonical``, ``envelope``, ``keys``, ``catalogue``,
``semantics``, ``signers``, ``merkle``, ``note``, ``projection``, ``rules``, ``values``).

``ledger.compliance(events, year, as_known_at=None)`` is the compliance projection, a pure fold.
"""

from ledger.projection import compliance

__all__ = ["compliance"]
__version__ = "0.1.0"
