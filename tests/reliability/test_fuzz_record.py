"""Every ``ledger record`` command, fed random option values through the real CLI entry point:
each call ends in success (exit 0, one more event) or a one-line error (exit 2, nothing
written), never a traceback, an internal error or a partial write."""

from __future__ import annotations

import contextlib
import io
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import make_key
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ledger.app import forms, keyfiles
from ledger.chain.ledger import Ledger
from ledger.cli import main
from ledger.core import catalogue
from ledger.core.draft import Draft
from ledger.core.semantics import shifted

TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)) | st.sampled_from("\n\r\t\x00 ,.-/:"),
    max_size=40,
)
NUMBERISH = st.one_of(
    st.integers(-(2**60), 2**60).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    st.sampled_from(["1,5", "1e3", "0x10", "", " 7", "-0", "2025-02-30", "2025-12-31", "NaN"]),
)


def value_for(spec: dict[str, Any]) -> st.SearchStrategy[str]:
    """Random text for an option, biased towards its schema's shape so that some calls pass."""
    kind = spec.get("type")
    shaped: list[st.SearchStrategy[str]] = [TEXT, NUMBERISH]
    if "enum" in spec or "enum" in spec.get("items", {}):
        shaped.append(
            st.sampled_from(
                [str(v) for v in spec.get("enum", spec.get("items", {}).get("enum", []))]
            )
        )
    if kind == "integer":
        shaped.append(st.integers(0, 3000).map(str))
    if kind == "boolean":
        shaped.append(st.sampled_from(["true", "false", "yes"]))
    return st.one_of(shaped)


HISTORY: list[dict[str, Any]] = orjson.loads(
    (Path(__file__).parents[1] / "data" / "catalogue_examples.json").read_bytes()
)["history"]
# The examples number events from a bare genesis; the fixture enrols the board key first.
OFFSET = 1
EXAMPLES: dict[str, dict[str, Any]] = {e["type"]: e["payload"] for e in HISTORY}


REFERENCES = {"resolution", "meeting", "assembly", "event", "director"}  # sequence numbers


@st.composite
def record_call(draw: st.DrawFn) -> tuple[str, list[str]]:
    """Half the calls start from a valid example of the type and change one field; the others
    are random throughout."""
    form = draw(st.sampled_from(forms.FORMS))
    example = EXAMPLES.get(form.type, {})
    near_valid = draw(st.booleans())
    # near-valid calls change one field, or (a third of them) none
    mutated = draw(st.sampled_from([*sorted(forms.properties(form)), "", ""]))
    args: list[str] = []
    for name, spec in forms.properties(form).items():
        known = example.get(name)
        option = forms.option_name(form, name)
        usable = isinstance(known, str | int) and not isinstance(known, bool)
        if near_valid and name != mutated and name not in form.files:
            if usable:
                # references point into the history the fixture replayed
                shift = OFFSET if name in REFERENCES and isinstance(known, int) else 0
                args += [option, str(known + shift) if shift else str(known)]
            continue
        if name in form.files:
            if draw(st.booleans()):
                args += [option, draw(st.sampled_from(["nope.md", "", "/", "\x00"]))]
            continue
        if draw(st.integers(0, 3)) == 0:
            continue  # leave it out: required ones must then be refused
        if spec.get("type") == "boolean" and draw(st.booleans()):
            args.append(option)  # as a flag
            continue
        args += [option, draw(value_for(spec))]
    if not near_valid and draw(st.booleans()):
        args += ["--effective", draw(st.one_of(NUMBERISH, st.just("2025-06-30")))]
    return form.command, args


@pytest.fixture(scope="module")
def ledger_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A ledger whose secretary.key is admin and secretary, board.key board and treasurer."""
    folder = tmp_path_factory.mktemp("fuzz-record")
    secretary, board = make_key(folder, "Secretary"), make_key(folder, "Board")
    with contextlib.chdir(folder):
        opened = run(
            ["init", "--enterprise", "Fuzz", "--number", "0896.755.397", "--key", str(secretary)]
        )
        assert opened[0] == 0
        enrolled = run(
            ["signer", "add", "--pub", f"{board}.pub", "--name", "Board", "--role", "board",
             "--role", "treasurer", "--key", str(secretary)]
        )  # fmt: skip
        assert enrolled[0] == 0
    replay_history(folder)
    yield folder


def replay_history(folder: Path) -> None:
    """The governance history of tests/data/catalogue_examples.json, so that the references
    of the near-valid calls find their targets."""
    ledger = Ledger.open(str(folder / "ledger.db"))
    try:
        for example in HISTORY:
            kind = example["type"]
            payload = shifted(kind, 1, example["payload"], OFFSET)
            effective = None if kind == "EventCorrected" else example["effective"]
            key = keyfiles.load_signing_key(Path(key_for(folder, kind)), lambda p: b"")
            ledger.append(key, [Draft(kind, payload, effective)])
    finally:
        ledger.close()


def key_for(folder: Path, event_type: str) -> str:
    allowed = catalogue.SIGNING_ROLES[event_type]
    return str(folder / ("secretary.key" if "secretary" in allowed else "board.key"))


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def count(folder: Path) -> int:
    with sqlite3.connect(folder / "ledger.db") as c:
        return int(c.execute("SELECT count(*) FROM stored_events").fetchone()[0])


@settings(deadline=None, max_examples=250, suppress_health_check=[HealthCheck.too_slow])
@given(call=record_call())
def test_record_commands_succeed_or_refuse_cleanly(
    ledger_folder: Path, call: tuple[str, list[str]]
) -> None:
    command, args = call
    key = key_for(ledger_folder, forms.BY_COMMAND[command].type)
    before = count(ledger_folder)
    with contextlib.chdir(ledger_folder):
        code, out, err = run(["record", command, *args, "--key", key])
    after = count(ledger_folder)
    assert code in (0, 2), (command, args, code, err)
    event("recorded" if code == 0 else "refused")
    if code == 0:
        assert after == before + 1 and out.strip() == str(after), (command, args, out)
    else:
        assert after == before, (command, args, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (command, args, err)
        assert "internal error" not in err and "Traceback" not in err
