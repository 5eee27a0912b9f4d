"""The signed chain of events in a store: the one way to write it (``ledger.Ledger``), the one
way to verify it (``verify``), the auditor's saved state (``auditstate``) and the bundle format
an audit reads (``bundle``). Imports ``core``, ``tlog`` and ``store``."""
