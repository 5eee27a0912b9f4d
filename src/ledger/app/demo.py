"""The end of ``ledger demo``, once its scenario is replayed: the ledger verified, a checkpoint
signed by the secretariat and cosigned by the Council, the year's report in every format, its
PDF adopted by the board, and the compliance it shows.

The year is the one the scenario's board last reviewed, and the report is adopted at the
meeting of that review: a scenario says which report it builds up to by its board's reviews
(SmartCoop's, 2025 at event 124; BioFerme's, 2024 at event 29), with nothing else to keep in
step with it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ledger.app import keyfiles, transparency
from ledger.app.keyfiles import PassphraseSource
from ledger.chain.ledger import Ledger, parse_row
from ledger.chain.verify import VerificationResult, verify_ledger
from ledger.core.envelope import Entry
from ledger.errors import LedgerStateError
from ledger.projections import projected
from ledger.projections.projection import Compliance
from ledger.reporting import documents


@dataclass(frozen=True, slots=True)
class Concluded:
    year: int
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
    year, meeting = last_review(ledger)
    reports = []
    for fmt in documents.FORMATS:
        path = folder / f"rapport-special-{year}.fr.{fmt}"
        path.write_bytes(documents.produce(ledger, year, "fr", fmt).data)
        reports.append(path)
    # The board adopts the report at the meeting where it reviewed the year: the ledger records
    # the PDF's hash.
    board = keyfiles.load_signing_key(keys_dir / "board.key", passphrase)
    adoption, adopted = documents.adopt(ledger, year, meeting, board)
    if adopted.data != reports[-1].read_bytes():
        raise LedgerStateError("the adopted PDF differs from the one written: not deterministic")
    compliance, _ = projected.compliance(ledger, year)
    return Concluded(year, verified, checkpoint, reports, meeting, adoption, compliance)


def last_review(ledger: Ledger) -> tuple[int, int]:
    """The year of the board's last review of a condition, and the meeting it was made at:
    the special report the demo writes and has adopted. ``LedgerStateError`` for a scenario
    with no review (a report nobody controlled is no demo)."""
    rows = ledger.store.read_topics(ledger.id, ["BoardReviewRecorded"])
    if not rows:
        raise LedgerStateError("the demo scenario holds no board review: no year to report")
    # As recorded: a scenario that corrected or retracted its last review would have to say
    # its year otherwise; none does, and the demo's ledger is new.
    payload = parse_row(rows[-1]).envelope.payload
    return int(payload["year"]), int(payload["meeting"])
