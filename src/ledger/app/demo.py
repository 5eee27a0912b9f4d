"""The end of ``ledger demo``, once its scenario is replayed: the ledger verified, a checkpoint
signed by the secretariat and cosigned by the Council, the year's report in every format, its
PDF adopted by the board, and the compliance it shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ledger.app import commands, keyfiles, transparency
from ledger.app.keyfiles import PassphraseSource
from ledger.chain.ledger import Ledger
from ledger.chain.verify import VerificationResult, verify_ledger
from ledger.core.envelope import Entry
from ledger.errors import LedgerStateError
from ledger.projections import projected
from ledger.projections.projection import Compliance
from ledger.reporting import documents

YEAR = 2025


@dataclass(frozen=True, slots=True)
class Concluded:
    verified: VerificationResult
    checkpoint: Path
    reports: list[Path]
    meeting: int
    adoption: Entry
    compliance: Compliance


def conclude(ledger: Ledger, folder: Path, passphrase: PassphraseSource) -> Concluded:
    """What the demo shows of ``ledger``, its files written into ``folder`` (the keys in
    ``folder/keys``). ``LedgerStateError`` when the demo does not hold: a ledger that does
    not verify, a PDF that is not the same twice."""
    verified = verify_ledger(ledger.store, ledger.id)
    if not verified.ok:
        first = verified.failures[0]
        raise LedgerStateError(
            f"the demo ledger does not verify: event {first.seq}: {first.reason}: {first.detail}"
        )
    keys_dir = folder / "keys"
    secretary = keyfiles.load_signing_key(keys_dir / "secretariat.key", passphrase)
    council = keyfiles.load_signing_key(keys_dir / "council.key", passphrase)
    signed = transparency.sign_checkpoint(ledger, secretary)
    cosigned = transparency.cosign_checkpoint(ledger, signed, council, datetime.now(UTC))
    checkpoint = folder / "checkpoint"
    checkpoint.write_bytes(cosigned)
    reports = []
    for fmt in documents.FORMATS:
        path = folder / f"rapport-special-{YEAR}.fr.{fmt}"
        path.write_bytes(documents.produce(ledger, YEAR, "fr", fmt).data)
        reports.append(path)
    # The board adopts the report at its last meeting: the ledger records the PDF's hash.
    board = keyfiles.load_signing_key(keys_dir / "board.key", passphrase)
    meeting = commands.last_of(ledger, "BoardMeetingHeld")
    if meeting is None:
        raise LedgerStateError("the demo scenario holds no board meeting to adopt the report")
    adoption, adopted = documents.adopt(ledger, YEAR, meeting, board)
    if adopted.data != reports[-1].read_bytes():
        raise LedgerStateError("the adopted PDF differs from the one written: not deterministic")
    compliance, _ = projected.compliance(ledger, YEAR)
    return Concluded(verified, checkpoint, reports, meeting, adoption, compliance)
