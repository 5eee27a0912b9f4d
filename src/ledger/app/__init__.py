"""The application: what the commands do, as library functions the CLI calls (checkpoints,
proofs, export, import and audit in ``transparency``), and the input formats people write (key
files, forms, minutes, figures, scenarios)."""
