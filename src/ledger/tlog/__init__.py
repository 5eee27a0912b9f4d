"""The ledger as a transparency log, pure: the RFC 6962 Merkle tree and its proofs
(``merkle``), C2SP signed notes and cosignatures (``note``), checkpoints of a ledger
(``checkpoint``). Imports ``core`` and nothing above it."""
