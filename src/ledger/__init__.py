"""coop-ledger: a signed, append-only audit ledger for Belgian social-enterprise cooperatives.

Layers point one way: ``cli`` → ``ledger``/``verify`` (I/O edges) → ``store`` (eventsourcing)
→ the pure core (``canonical``, ``envelope``, ``keys``, ``catalogue``, ``signers``, ``values``).
"""

__version__ = "0.1.0"
