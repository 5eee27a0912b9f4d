"""The names the CLI's help shows, from the catalogue, without importing what the commands
run on (the store, the chain): ``ledger --help`` stays quick."""

from __future__ import annotations

from ledger.core import catalogue

ROLES = catalogue.ROLES  # what a signer may be granted, in the catalogue's order
