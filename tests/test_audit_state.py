"""The auditor's state (``ledger audit --save-state`` / ``--state``): an audit started from it
reads only the new events, yet finds exactly what a full audit finds, saves the same state, and
catches a rewritten history, a wrong or damaged state file and a bundle that does not fit it."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import orjson
import pytest
from conftest import run_here

from ledger import files
from ledger.app import commands, keyfiles, transparency
from ledger.chain import auditstate, verify
from ledger.chain.ledger import Ledger
from ledger.chain.verify import CHUNK
from ledger.core import keys
from ledger.core.draft import Draft
from ledger.core.envelope import parse_entry
from ledger.errors import InputError
from ledger.store.pages import paged
from ledger.tlog import merkle


class History(NamedTuple):
    bundles: list[Path]  # exports of the ledger as it grew, oldest first
    council: keys.SigningKey
    folder: Path


def _metrics(ledger: Ledger, key: keys.SigningKey, year: int, count: int, tag: str) -> None:
    ledger.append(
        key,
        [
            Draft(
                "MetricSubmitted", {"year": year, "name": f"{tag}{i}", "value": "1", "unit": "EUR"}
            )
            for i in range(count)
        ],
    )


def _enrol(key: keys.SigningKey, role: str) -> Draft:
    return commands.enrolment(key.public, role, [role])


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    """A ledger grown in phases, exported after each: enrolments, a cosigned checkpoint recorded
    (so later figures for a closed year are late entries), a key rotation, a revocation, pages
    of figures; the exports end inside pages and on their edges."""
    folder = tmp_path_factory.mktemp("history")
    founder, council = keys.generate("Founder"), keys.generate("Conseil national")
    treasurer, board = keys.generate("Treasurer"), keys.generate("Board")
    ledger = Ledger.create(
        str(folder / "ledger.db"), enterprise="SmartCoop", number="0896.755.397", key=founder
    )
    closed = datetime.now(UTC).year - 1
    bundles = []

    def export() -> None:
        path = folder / f"{len(bundles)}.bundle"
        transparency.export(ledger, path)
        bundles.append(path)
        signed = transparency.sign_checkpoint(ledger, founder)
        cosigned = transparency.cosign_checkpoint(ledger, signed, council, datetime.now(UTC))
        (folder / f"cp{ledger.size()}").write_bytes(cosigned)

    ledger.append(founder, [_enrol(council, "council"), _enrol(treasurer, "treasurer")])
    ledger.append(founder, [_enrol(board, "board")])
    _metrics(ledger, treasurer, closed, 41, "a")
    export()  # 45 events, and cp45 (as each export: a checkpoint cosigned at its size)
    _metrics(ledger, treasurer, closed + 1, 3, "b")
    export()  # 48: the checkpoint at 45 is not recorded yet
    transparency.record_checkpoint(ledger, (folder / "cp45").read_bytes(), founder)
    _metrics(ledger, treasurer, closed, 2, "late")
    export()  # 51, with two late entries
    rotated = keys.generate("Treasurer")
    ledger.append(
        treasurer,
        [
            Draft(
                "SignerKeyRotated",
                {
                    "key_id": treasurer.public.key_id,
                    "new_key_id": rotated.public.key_id,
                    "public_key": rotated.public.b64,
                    "reason": "new laptop",
                },
            )
        ],
    )
    ledger.append(
        founder, [Draft("SignerRevoked", {"key_id": board.public.key_id, "reason": "left"})]
    )
    _metrics(ledger, rotated, closed + 1, 2 * CHUNK - 53, "c")
    export()  # 2 * CHUNK: ends on a page edge
    _metrics(ledger, rotated, closed, 300, "d")
    export()  # 2 * CHUNK + 300, more late entries
    ledger.close()
    return History(bundles, council, folder)


def _audit(
    history: History, bundle: Path, state: auditstate.AuditState | None = None, **kw: object
) -> transparency.Audited:
    return transparency.audit(bundle, [history.council.public], state=state, **kw)  # type: ignore[arg-type]


def _state(history: History, bundle: Path) -> auditstate.AuditState:
    saved = _audit(history, bundle).state
    assert saved is not None
    return auditstate.parse(saved.to_bytes())  # through the file format, as the CLI does


def test_an_audit_from_a_state_finds_what_a_full_audit_finds(history: History) -> None:
    bundles = history.bundles
    for i, older in enumerate(bundles):
        state = _state(history, older)
        for newer in bundles[i:]:
            full = _audit(history, newer)
            assert full.result.ok, full.result.failures
            for workers in (1, 2):
                resumed = _audit(history, newer, state, workers=workers)
                # Event 49 records the checkpoint at 45: from the state at 48, every event is
                # read (test_a_checkpoint_of_fewer_events_than_the_state_reads_every_event).
                reads_all = older == bundles[1] and newer != older
                assert resumed.skipped == (0 if reads_all else state.resume.size)
                assert resumed.result == full.result
                assert resumed.state is not None and full.state is not None
                assert resumed.state.to_bytes() == full.state.to_bytes()
    last = _audit(history, bundles[-1]).result
    assert [(e.seq, e.checkpoint_size) for e in last.late_entries][:2] == [(50, 45), (51, 45)]
    assert len(last.late_entries) == 302 and last.checkpoints == 1


def test_an_audit_from_a_state_reads_no_old_event_and_checks_only_new_signatures(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = _state(history, history.bundles[2])
    checked: list[bytes] = []
    real = verify.verify_signature
    monkeypatch.setattr(verify, "verify_signature", lambda *a: checked.append(a[2]) or real(*a))  # type: ignore[func-returns-value]
    hashed: list[bytes] = []
    leaf = merkle.leaf_hash
    monkeypatch.setattr(merkle, "leaf_hash", lambda e: hashed.append(e) or leaf(e))  # type: ignore[func-returns-value]
    resumed = _audit(history, history.bundles[3], state, workers=1)
    assert resumed.result.ok and resumed.result.events == 2 * CHUNK
    new = 2 * CHUNK - state.resume.size
    # The state's own signer events are replayed, signatures and all: 4 of them.
    assert len(checked) == new + 4
    assert len(hashed) == new


def test_a_checkpoint_of_fewer_events_than_the_state_reads_every_event(
    history: History,
) -> None:
    # The checkpoint at 45 is recorded at 49, after the state at 48 was saved: checking it needs
    # the tree at 45, which the state does not hold.
    state = _state(history, history.bundles[1])
    resumed = _audit(history, history.bundles[2], state)
    assert resumed.skipped == 0 and "checkpoint of 45 events" in resumed.why_not
    assert resumed.result == _audit(history, history.bundles[2]).result
    trusted = (history.folder / "cp45").read_bytes()
    later = _state(history, history.bundles[2])
    resumed = _audit(history, history.bundles[3], later, trusted=trusted)
    assert resumed.skipped == 0 and "trusted checkpoint covers 45" in resumed.why_not
    assert resumed.result == _audit(history, history.bundles[3], trusted=trusted).result


@pytest.mark.parametrize("size", [51, 2 * CHUNK + 300])
def test_a_trusted_checkpoint_finds_the_late_entries_of_its_prefix(
    history: History, size: int
) -> None:
    # Events before a trusted checkpoint are only hashed (one by one, and as whole pages at
    # 812); a late entry among them is listed all the same, as a full audit lists it.
    trusted = (history.folder / f"cp{size}").read_bytes()
    bundle = history.bundles[2 if size == 51 else 4]
    assert _audit(history, bundle, trusted=trusted).result == _audit(history, bundle).result


def test_other_trusted_keys_read_every_event(history: History) -> None:
    state = _state(history, history.bundles[2])
    other = keys.generate("Someone else").public
    trust = [history.council.public, other]
    resumed = transparency.audit(history.bundles[3], trust, state=state)
    assert resumed.skipped == 0 and "other keys" in resumed.why_not
    assert resumed.result == transparency.audit(history.bundles[3], trust).result


def test_a_rewritten_history_fails_at_the_state_end(history: History, tmp_path: Path) -> None:
    state = _state(history, history.bundles[2])
    size = state.resume.size
    lines = history.bundles[3].read_bytes().splitlines(keepends=True)
    # Another event at the state's last position; the lines before keep their lengths, so the
    # state's offset still lands on it.
    lines[size] = lines[size].replace(b'"value":"1"', b'"value":"9"')
    forged = tmp_path / "forged.bundle"
    forged.write_bytes(b"".join(lines))
    found = _audit(history, forged, state).result
    assert [(f.seq, f.reason) for f in found.failures] == [(size, "state-mismatch")]
    forged.write_bytes(b"".join(lines[: size - 3]))  # cut before the state's end
    found = _audit(history, forged, state).result
    assert [(f.seq, f.reason) for f in found.failures] == [(size, "state-mismatch")]
    assert "ends before it" in found.failures[0].detail


def test_a_history_changed_before_the_state_when_read_in_full(
    history: History, tmp_path: Path
) -> None:
    # A checkpoint of fewer events forces a full read: then the events before the state's end
    # must hash to its root, and an edited one there is named.
    state = _state(history, history.bundles[1])
    lines = history.bundles[2].read_bytes().splitlines(keepends=True)
    entry = parse_entry(lines[46].rstrip(b"\n"))
    assert entry.envelope.type == "MetricSubmitted"
    lines[46] = lines[46].replace(b'"value":"1"', b'"value":"2"')
    forged = tmp_path / "forged.bundle"
    forged.write_bytes(b"".join(lines))
    found = _audit(history, forged, state)
    assert found.skipped == 0
    assert ("state-mismatch") in [f.reason for f in found.result.failures]
    assert found.state is None


def test_a_state_whose_tree_was_changed_fails_against_the_header(history: History) -> None:
    state = _state(history, history.bundles[2])
    edited = state.resume.frontier[0][:-1] + bytes([state.resume.frontier[0][-1] ^ 1])
    resume = dataclasses.replace(state.resume, frontier=(edited, *state.resume.frontier[1:]))
    wrong = auditstate.AuditState(state.ledger, resume, state.offset, state.trust)
    found = _audit(history, history.bundles[3], auditstate.parse(wrong.to_bytes())).result
    assert [f.reason for f in found.failures] == ["header-mismatch"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda o: o.update(root="00" * 32), "does not fold"),
        (lambda o: o.update(frontier=o["frontier"][1:]), "frontier"),
        (lambda o: o.update(size=0), "size"),
        (
            lambda o: o.update(state="coop-ledger/audit-state/v2"),
            "not a coop-ledger/audit-state/v1",
        ),
        (lambda o: o.pop("offset"), "expected the members"),
        (lambda o: o.update(head="xyz"), "head"),
        (lambda o: o.update(covered={"size": 1}), "covered"),
        (lambda o: o.update(late_entries=[{"seq": 1}]), "late_entries"),
        (lambda o: o.update(trust=["nope"]), "trust"),
    ],
)
def test_a_damaged_state_file_is_refused(history: History, change: object, message: str) -> None:
    obj = orjson.loads(_state(history, history.bundles[2]).to_bytes())
    change(obj)  # type: ignore[operator]
    with pytest.raises(InputError, match=message):
        auditstate.parse(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS))
    with pytest.raises(InputError, match="not canonical"):
        auditstate.parse(b'{"state": 1}')


def test_a_forged_signer_event_in_the_state_is_refused(history: History) -> None:
    state = _state(history, history.bundles[2])
    registry = state.resume.registry
    raised = registry[1].replace(b'"roles":["council"]', b'"roles":["admin"]')
    figure = history.bundles[2].read_bytes().splitlines()[5]
    for forged, why in (
        ((registry[0], raised, *registry[2:]), "signer event 2: bad-signature"),
        (registry[1:], "signer event 2: unknown-signer"),
        ((*registry, figure), "signer event 5: not-a-signer-event"),
        ((*registry[:2], registry[3], registry[2]), "signer event 3: out-of-order"),
        ((*registry[:2], b"{}"), "not a well-formed entry"),
    ):
        resume = dataclasses.replace(state.resume, registry=forged)
        wrong = auditstate.AuditState(state.ledger, resume, state.offset, state.trust)
        with pytest.raises(InputError, match=why):
            _audit(history, history.bundles[3], wrong)


def test_a_state_of_another_ledger_is_refused(history: History, tmp_path: Path) -> None:
    state = _state(history, history.bundles[2])
    founder = keys.generate("Other")
    other = Ledger.create(
        str(tmp_path / "o.db"), enterprise="O", number="0403.170.701", key=founder
    )
    transparency.export(other, tmp_path / "o.bundle")
    other.close()
    with pytest.raises(InputError, match=r"^state: the state is of ledger"):
        _audit(history, tmp_path / "o.bundle", state)


def test_the_tree_started_from_a_frontier_gives_every_later_root() -> None:
    leaves = [merkle.leaf_hash(bytes([i])) for i in range(70)]
    for start in range(0, 40):
        whole = merkle.CompactRange()
        for leaf in leaves[:start]:
            whole.append(leaf)
        tree = verify.Tree(merkle.CompactRange(start, whole.roots))
        for size in range(start + 1, 71):
            tree.append(leaves[size - 1])
            for at in (start, size) if start else (size,):
                assert tree.root(at) == merkle.root_hash(leaves[:at]), (start, size, at)


def test_pages_after_a_state_realign_on_page_edges() -> None:
    assert [len(p) for p in paged(range(600), 256, after=300)] == [212, 256, 132]
    assert [len(p) for p in paged(range(10), 256, after=512)] == [10]


# --- the CLI ------------------------------------------------------------------------------------


def _cli(history: History, *args: str) -> tuple[int, str, str]:
    pub = history.folder / "council.key.pub"
    if not pub.exists():
        keyfiles.write_key_files(history.council, history.folder / "council.key", None)
    found = run_here("audit", *args, "--trust", str(pub), cwd=history.folder)
    return found.code, found.out, found.err


def test_cli_saves_then_starts_from_the_state(history: History, tmp_path: Path) -> None:
    state = tmp_path / "council.state"
    old, new = (str(b) for b in history.bundles[2:4])
    code, out, err = _cli(history, old, "--save-state", str(state))
    assert code == 0 and "audit state saved" in err and "(event 51)" in err
    code, out, err = _cli(history, new, "--state", str(state), "--save-state", str(state), "--json")
    assert code == 0, err
    assert "started from the audit state at event 51" in err
    _, out_full, _ = _cli(history, new, "--json")
    assert orjson.loads(out) == orjson.loads(out_full)
    full_state = tmp_path / "full.state"
    _cli(history, new, "--save-state", str(full_state))
    assert state.read_bytes() == full_state.read_bytes()
    assert orjson.loads(state.read_bytes())["size"] == 2 * CHUNK


def test_cli_refusals(history: History, tmp_path: Path) -> None:
    state = tmp_path / "s"
    bundle = str(history.bundles[3])
    code, _, err = _cli(history, bundle, "--save-state", str(tmp_path / "no" / "s"))
    assert code == 2 and "--save-state: no folder" in err
    state.write_bytes(b"garbage")
    code, _, err = _cli(history, bundle, "--state", str(state))
    assert code == 2 and "--state: not a usable audit state" in err
    code, _, err = _cli(history, "--all", "--state", str(state))
    assert code == 2 and "give no --state" in err
    code, _, err = _cli(history, bundle, "--state", str(tmp_path / "missing"))
    assert code == 2 and "--state: cannot read" in err
    # A failed audit saves nothing.
    broken = tmp_path / "broken.bundle"
    broken.write_bytes(history.bundles[3].read_bytes()[:-200])
    code, _, err = _cli(history, str(broken), "--save-state", str(state))
    assert code == 1 and "not saved" in err and state.read_bytes() == b"garbage"


def test_a_state_file_is_replaced_whole_or_not_at_all(tmp_path: Path) -> None:
    path = tmp_path / "council.state"
    path.write_bytes(b"the state before")
    with pytest.raises(RuntimeError), files.replacing(path) as f:
        f.write(b"half a state")
        raise RuntimeError("disk full")
    assert path.read_bytes() == b"the state before"
    assert [p.name for p in tmp_path.iterdir()] == ["council.state"]
